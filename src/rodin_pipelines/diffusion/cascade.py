"""Hierarchical synthesis (rodin-method §5): latent e → base sample → upsampler sample →
de-normalised tri-plane ``(B, 3, C, R, R)``, ready to render with the shared decoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.diffusion.conditioning_augmentation import (noised_at_level,
                                                                   upsampler_context)
from rodin_pipelines.diffusion.denoiser import Condition, Denoiser
from rodin_pipelines.diffusion.samplers import sample
from rodin_pipelines.triplane.layout import roll_in, roll_out
from rodin_pipelines.triplane.normalisation import (
    PlaneStatistics,
    denormalise_planes,
    normalise_planes,
)


@dataclass(frozen=True)
class SamplingSettings:
    """``sampler`` name, network evaluations per model, classifier-free guidance scale (the
    upsampler's own when ``upsampler_guidance_scale`` is set, else the same), and the level of
    the noise put on the base model's sample before the upsampler reads it
    (``upsampler_context_level``, in [0, 1]; only for an upsampler trained with level-conditioned
    augmentation, which is told the level)."""

    sampler: str = "ddim"
    base_steps: int = 50
    upsampler_steps: int = 25
    guidance_scale: float = 1.0
    upsampler_guidance_scale: float | None = None
    upsampler_context_level: float = 0.0

    def __post_init__(self) -> None:
        # Sampling settings come from `diffusion.sampling` and its overrides (evaluate, generate):
        # bad values stop here, naming the key, not deep inside a sampler.
        if self.base_steps < 1 or self.upsampler_steps < 1:
            raise ValueError(f"base_steps and upsampler_steps must be >= 1, got "
                             f"{self.base_steps} and {self.upsampler_steps} "
                             "(diffusion.sampling or the stage's sampling override)")
        if not 0.0 <= self.upsampler_context_level <= 1.0:
            raise ValueError(f"upsampler_context_level must lie in [0, 1], got "
                             f"{self.upsampler_context_level} (diffusion.sampling."
                             "upsampler_context_level, or the stage's sampling override)")

    @property
    def upsampler_guidance(self) -> float:
        if self.upsampler_guidance_scale is None:
            return self.guidance_scale
        return self.upsampler_guidance_scale


def sample_base(base: Denoiser, latents: Tensor | None, count: int, channels: int,
                resolution: int, settings: SamplingSettings,
                generator: torch.Generator, progress: bool = False) -> Tensor:
    """Normalised low-resolution roll-outs ``(B, C, r, 3r)``; ``progress``: a bar per step."""
    noise = torch.randn(count, channels, resolution, 3 * resolution, generator=generator)
    predict = base.predictor(Condition(latent=latents), settings.guidance_scale)
    return sample(settings.sampler, predict, base.schedule, noise, settings.base_steps, generator,
                  progress=progress)


def sample_upsampler(upsampler: Denoiser, low: Tensor, latents: Tensor | None, resolution: int,
                     settings: SamplingSettings, generator: torch.Generator,
                     progress: bool = False) -> Tensor:
    """Normalised full-resolution roll-outs ``(B, C, R, 3R)`` given low-resolution ones
    ``(B, C, r, 3r)``, noised first at ``settings.upsampler_context_level`` when it is > 0."""
    level = settings.upsampler_context_level
    context_level = None
    if getattr(upsampler.network, "context_noise_conditioned", False):
        context_level = torch.full((low.shape[0],), float(level))
        if level > 0:
            low = noised_at_level(low, context_level, generator)
    elif level > 0:
        raise ValueError(f"upsampler_context_level {level} needs an upsampler trained with "
                         "level-conditioned augmentation (network context_noise_conditioned: "
                         "true, augmentation noise_level_max > 0); set it to 0 for this one")
    context = upsampler_context(low, resolution)
    noise = torch.randn(low.shape[0], low.shape[1], resolution, 3 * resolution,
                        generator=generator)
    predict = upsampler.predictor(Condition(latent=latents, context=context,
                                            context_level=context_level),
                                  settings.upsampler_guidance)
    return sample(settings.sampler, predict, upsampler.schedule, noise, settings.upsampler_steps,
                  generator, progress=progress)


def sample_triplanes(base: Denoiser, upsampler: Denoiser | None, latents: Tensor | None,
                     count: int, channels: int, base_resolution: int, resolution: int,
                     statistics: PlaneStatistics, settings: SamplingSettings,
                     seed: int = 0, progress: bool = False) -> Tensor:
    """``count`` tri-planes ``(B, 3, C, R, R)`` (de-normalised) for latents ``(B, D)`` or none.

    Without an upsampler the base sample is brought to ``resolution`` by per-plane bilinear
    upsampling (what the base model alone can offer). ``progress`` shows a bar per sampler step
    (the demo page's progress bar follows it).
    """
    generator = torch.Generator().manual_seed(seed)
    low = sample_base(base, latents, count, channels, base_resolution, settings, generator,
                      progress)
    if upsampler is None:
        high = upsampler_context(low, resolution)
    else:
        high = sample_upsampler(upsampler, low, latents, resolution, settings, generator,
                                progress)
    return denormalise_planes(roll_in(high), statistics)


def gaussian_baseline_triplanes(training_planes: list[Tensor], count: int,
                                statistics: PlaneStatistics, seed: int = 0) -> Tensor:
    """The baseline: each texel-channel drawn from a Gaussian fitted to the training tri-planes
    ``(3, C, R, R)`` (normalised and rolled out, as the diffusion models see them); returns
    ``count`` tri-planes ``(count, 3, C, R, R)`` de-normalised."""
    normalised_rolled = torch.stack([roll_out(normalise_planes(planes.float(), statistics))
                                     for planes in training_planes])
    generator = torch.Generator().manual_seed(seed)
    mean, std = normalised_rolled.mean(0), normalised_rolled.std(0)
    draws = mean + std * torch.randn(count, *mean.shape, generator=generator)
    return denormalise_planes(roll_in(draws), statistics)
