"""The progress gallery of a diffusion training: frontal renders of samples drawn for fixed
latents with a fixed seed, under the fitted tri-planes they should reproduce."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_base, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import upsampler_context
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.contact_sheet import gallery_rows
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import PlaneStatistics, denormalise_planes


@torch.no_grad()
def training_gallery(denoiser: Denoiser, latents: Tensor, statistics: PlaneStatistics,
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
