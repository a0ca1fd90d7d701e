"""Pictures and numbers of tri-plane samples: renders of samples beside the truth and a baseline."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarViews
from rodin_pipelines.diffusion.cascade import (
    SamplingSettings,
    gaussian_baseline_triplanes,
    sample_triplanes,
)
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.models.clip_embeddings import embed_views
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.rendering.contact_sheet import gallery_rows
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.triplane.normalisation import PlaneStatistics


def mean_psnr_against(samples: Tensor, truth: Tensor) -> float:
    """Mean PSNR (white background) of sample renders ``(B, H, W, 4)`` against the renders of
    the avatars whose latents they were conditioned on."""
    return view_psnr(samples, truth)


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


def heldout_gallery(base: Denoiser, upsampler: Denoiser, heldout: list[AvatarViews],
                    latents: Tensor, training_planes: list[Tensor], statistics: PlaneStatistics,
                    decoder: TriplaneDecoder, clip: LoadedClip, settings: SamplingSettings,
                    render: VolumeRenderSettings, sizes: dict[str, int], base_resolution: int,
                    seed: int, scale: int) -> tuple[np.ndarray, dict[str, float]]:
    """Frontal renders of held-out avatars (their views), cascade samples conditioned on their
    latents ``(B, D)``, unconditional samples, and the per-texel Gaussian baseline of the
    training tri-planes ``(3, C, R, R)``; with PSNRs and how closely each row's CLIP image
    embedding matches the conditioning latent."""
    count = len(heldout)
    shape = dict(count=count, channels=sizes["channels"], base_resolution=base_resolution,
                 resolution=sizes["fitted_resolution"], statistics=statistics,
                 settings=settings, seed=seed)
    conditional = sample_triplanes(base, upsampler, latents, **shape)
    unconditional = sample_triplanes(base, upsampler, None, **shape)
    baseline = gaussian_baseline_triplanes(training_planes, count, statistics, seed)
    first = heldout[0]
    cameras = first.cameras()[torch.tensor([first.frontal_index()])]

    def frontal_renders(planes: Tensor) -> Tensor:
        return render_triplanes(planes, decoder, cameras, render)[:, 0]

    truth_images = torch.stack([a.images[a.frontal_index()] for a in heldout])
    rows = {"truth": truth_images,
            "conditional": frontal_renders(conditional),
            "unconditional": frontal_renders(unconditional),
            "gaussian baseline": frontal_renders(baseline)}
    metrics = {
        "psnr_conditional_vs_truth": mean_psnr_against(rows["conditional"], truth_images),
        "psnr_unconditional_vs_truth": mean_psnr_against(rows["unconditional"], truth_images),
        "psnr_gaussian_baseline_vs_truth": mean_psnr_against(rows["gaussian baseline"],
                                                             truth_images),
        **latent_agreement(clip, rows, latents),
        "gallery_avatars": float(count),
        "base_steps": float(settings.base_steps),
        "upsampler_steps": float(settings.upsampler_steps),
        "guidance_scale": float(settings.guidance_scale),
    }
    return gallery_rows(rows, scale=scale), metrics
