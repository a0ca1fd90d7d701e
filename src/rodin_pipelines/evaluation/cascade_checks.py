"""Tell a bug from a lack of compute (issue 16): train the cascade on a few avatars, then split
its conditional fidelity between its two halves.

``memorise``: the cascade trained on N training avatars must reproduce each of them from its own
latent (a bug anywhere in normalisation, parameterisation, the upsampler's low-resolution input,
the conditioning path or EMA shows up here as a low PSNR). ``alone``: on held-out avatars, the
base model given e and the upsampler given the true downsampled planes, each against the truth.
The benchmark (``benchmarks/generation/cascade_checks.py``) and the test profile's fast version
both run through here.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_base, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import (downsample_rolled_out,
                                                                   upsampler_context)
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.networks import load_denoiser
from rodin_pipelines.evaluation.cascade_fidelity import (frontal_psnr_per_avatar,
                                                         own_rank_by_mse, top1)
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.diffusion_training import (data_sizes, frontal_cameras,
                                                         train_diffusion_model)
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet, TriplaneExample
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import PlaneStatistics, denormalise_planes
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit

MODELS = ("base", "upsampler")


@dataclass
class TrainedCascade:
    """Both EMA denoisers, the ``diffusion`` block they were trained with and the data sizes."""

    models: dict[str, Denoiser]
    diffusion: dict[str, Any]
    sizes: dict[str, int]
    training_seconds: dict[str, float] = field(default_factory=dict)


def checked_diffusion_settings(diffusion: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The ``diffusion`` block with checkpoints in ``workdir``, no resume and no progress
    galleries: a check trains from scratch and leaves the stage's own models alone."""
    diffusion = copy.deepcopy(diffusion)
    diffusion["gallery"]["every_n_steps"] = 0
    for name in MODELS:
        diffusion[name]["trainer"]["checkpoint_dir"] = str(workdir / name)
        diffusion[name]["trainer"]["resume"] = None
    return diffusion


def train_cascade(examples: list[TriplaneExample], plane_statistics: PlaneStatistics,
                  shared_decoder: SharedDecoderFit, diffusion: dict[str, Any],
                  render: dict[str, Any], workdir: Path) -> TrainedCascade:
    """Train base and upsampler on ``examples`` through the diffusion stage's own training."""
    diffusion = checked_diffusion_settings(diffusion, workdir)
    sizes = data_sizes(examples)
    models, seconds = {}, {}
    for name in MODELS:
        start = time.perf_counter()
        weights = train_diffusion_model(examples, plane_statistics, shared_decoder,
                                        diffusion[name], diffusion, render)
        seconds[name] = time.perf_counter() - start
        models[name] = load_denoiser(weights, diffusion[name], diffusion, sizes)
    return TrainedCascade(models, diffusion, sizes, seconds)


@torch.no_grad()
def cascade_fidelity(planes: list[Tensor], latents: Tensor, cascade: TrainedCascade,
                     plane_statistics: PlaneStatistics, shared_decoder: SharedDecoderFit,
                     render: dict[str, Any], seed: int) -> dict[str, Any]:
    """Cascade, base-alone and upsampler-alone fidelity for avatars with fitted tri-planes.

    Args:
        planes: N fitted tri-planes ``(3, C, R, R)`` (the truth).
        latents: ``(N, D)`` each avatar's frontal CLIP embedding e.
    Returns per-avatar frontal PSNRs (dB) of the cascade's sample against the fitted tri-plane's
    render, own-avatar top-1 by MSE among the N, and the same split by model.
    """
    diffusion, sizes, models = cascade.diffusion, cascade.sizes, cascade.models
    settings = SamplingSettings(**diffusion["sampling"])
    low_resolution, fitted_resolution = diffusion["base_resolution"], sizes["fitted_resolution"]
    truth_rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(p, plane_statistics)
                                for p in planes])  # (N, C, R, 3R)
    truth_low = downsample_rolled_out(truth_rolled, low_resolution)
    generator = torch.Generator().manual_seed(seed)
    low = sample_base(models["base"], latents, len(planes), sizes["channels"], low_resolution,
                      settings, generator)
    high = sample_upsampler(models["upsampler"], low, latents, fitted_resolution, settings,
                            generator)
    upsampled_truth = sample_upsampler(models["upsampler"], truth_low, latents,
                                       fitted_resolution, settings, generator)
    camera = frontal_cameras(render, render["views"]["image_size"])
    render_settings = VolumeRenderSettings(**diffusion["gallery"]["render"])
    truth = torch.stack([p.float() for p in planes])

    def psnr(rolled: Tensor) -> list[float]:
        return frontal_psnr_per_avatar(denormalise_planes(roll_in(rolled), plane_statistics),
                                       truth, shared_decoder.decoder, camera, render_settings)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    own = torch.arange(len(planes))
    cascade_psnr = psnr(high)
    # Against another avatar's truth (the next one): a sample that ignores its latent scores
    # about the same against both.
    other = frontal_psnr_per_avatar(denormalise_planes(roll_in(high), plane_statistics),
                                    truth.roll(1, 0), shared_decoder.decoder, camera,
                                    render_settings)
    return {
        "avatars": len(planes),
        "cascade_frontal_psnr": cascade_psnr,
        "cascade_frontal_psnr_mean": mean(cascade_psnr),
        "cascade_frontal_psnr_min": min(cascade_psnr),
        "cascade_frontal_psnr_vs_other_mean": mean(other),
        "cascade_own_top1_mse": top1(own_rank_by_mse(downsample_rolled_out(high, low_resolution),
                                                     truth_low, own)),
        "base_own_top1_mse": top1(own_rank_by_mse(low, truth_low, own)),
        "base_relative_mse": float((low - truth_low).pow(2).mean() / truth_low.var()),
        "base_alone_frontal_psnr_mean": mean(psnr(upsampler_context(low, fitted_resolution))),
        "truth_low_bilinear_frontal_psnr_mean": mean(
            psnr(upsampler_context(truth_low, fitted_resolution))),
        "upsampler_alone_frontal_psnr_mean": mean(psnr(upsampled_truth)),
    }
