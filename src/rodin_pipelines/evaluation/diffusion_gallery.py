"""Pictures and numbers of tri-plane samples: renders of samples beside the truth and a baseline."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_base, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import upsampler_context
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.models.clip_embeddings import embed_views
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.compositing import straight_rgba
from rodin_pipelines.rendering.contact_sheet import flatten_rgba, image_grid
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import denormalise_planes


@torch.no_grad()
def render_triplanes(planes: Tensor, decoder: TriplaneDecoder, cameras: Cameras,
                     render: VolumeRenderSettings) -> Tensor:
    """Straight RGBA ``(B, V, H, W, 4)`` (on the CPU) of tri-planes ``(B, 3, C, R, R)`` from
    ``V`` cameras, rendered on the decoder's device."""
    device = next(decoder.parameters()).device
    cameras = replace(cameras, camera_to_world=cameras.camera_to_world.to(device))
    views = []
    for plane in planes:
        colour, opacity = render_cameras(TriplaneField(plane.to(device), decoder), cameras,
                                         render)
        views.append(straight_rgba(colour, opacity).cpu())
    return torch.stack(views)


def gallery_rows(rows: dict[str, Tensor], scale: int = 1) -> np.ndarray:
    """One row per entry of ``rows`` (each ``(B, H, W, 4)`` straight RGBA) → uint8 grid picture.

    Rows keep their insertion order (e.g. truth, samples, baseline), avatars run along columns.
    """
    stacked = torch.stack(list(rows.values()))  # (rows, B, H, W, 4)
    flat = flatten_rgba(stacked.flatten(0, 1))  # (rows*B, H, W, 3)
    if scale > 1:
        flat = flat.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    grid = image_grid(flat.reshape(stacked.shape[0], stacked.shape[1], *flat.shape[1:]))
    return grid


def mean_psnr_against(samples: Tensor, truth: Tensor) -> float:
    """Mean PSNR (white background) of sample renders ``(B, H, W, 4)`` against the renders of
    the avatars whose latents they were conditioned on."""
    return view_psnr(samples, truth)


@torch.no_grad()
def training_gallery(denoiser: Denoiser, latents: Tensor, statistics: dict[str, Tensor],
                     decoder: TriplaneDecoder, cameras: Cameras, render: VolumeRenderSettings,
                     shape: tuple[int, int, int], settings: SamplingSettings,
                     low: Tensor | None = None, truth: Tensor | None = None,
                     seed: int = 0) -> np.ndarray:
    """Frontal renders of samples for fixed latents ``(B, D)`` and a fixed seed.

    ``shape`` is the model's ``(C, r, 3r)``; samples are brought to the tri-plane resolution of
    ``truth`` by per-plane upsampling when smaller. ``low`` ``(B, C, r', 3r')`` makes the
    denoiser an upsampler given that low-resolution input; ``truth`` ``(B, 3, C, R, R)``
    de-normalised planes are rendered as a first row to compare with.
    """
    generator = torch.Generator().manual_seed(seed)
    if low is None:
        samples = sample_base(denoiser, latents, latents.shape[0], shape[0], shape[1], settings,
                              generator)
    else:
        samples = sample_upsampler(denoiser, low, latents, shape[1], settings, generator)
    resolution = truth.shape[-1] if truth is not None else shape[-2]
    if samples.shape[-2] != resolution:
        samples = upsampler_context(samples, resolution)
    planes = denormalise_planes(roll_in(samples), statistics)
    rows = {"samples": render_triplanes(planes, decoder, cameras, render)[:, 0]}
    if truth is not None:
        rows = {"truth": render_triplanes(truth, decoder, cameras, render)[:, 0], **rows}
    return gallery_rows(rows)


def latent_agreement(clip: LoadedClip, rows: dict[str, Tensor],
                     latents: Tensor) -> dict[str, float]:
    """Per gallery row ``(B, H, W, 4)``: mean cosine between the CLIP image embedding of each
    render and the latent ``(B, D)`` it was (or, for unconditioned rows, would be) conditioned on,
    and how often the right latent is the nearest among the ``B`` (chance ``1/B``)."""
    metrics: dict[str, float] = {}
    for name, images in rows.items():
        embedded = embed_views(clip, images)
        similarity = embedded @ latents.T
        key = name.replace(" ", "_")
        metrics[f"latent_cosine_{key}"] = float(similarity.diagonal().mean())
        hits = similarity.argmax(dim=1) == torch.arange(len(latents))
        metrics[f"latent_top1_{key}"] = float(hits.float().mean())
    metrics["latent_top1_chance"] = 1.0 / len(latents)
    return metrics
