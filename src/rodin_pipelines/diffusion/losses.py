"""The diffusion training loss (the "simple" MSE on the parameterisation's target)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Condition, Denoiser
from rodin_pipelines.diffusion.parameterisation import (
    Prediction,
    prediction_from_output,
    training_target,
)


@dataclass(frozen=True)
class DiffusionLoss:
    """Per-sample losses ``(B,)`` and the prediction (the upsampler renders its ``x0``)."""

    per_sample: Tensor
    prediction: Prediction
    timesteps: Tensor


def diffusion_loss(denoiser: Denoiser, x0: Tensor, condition: Condition,
                   latent_keep: Tensor | None = None,
                   generator: torch.Generator | None = None) -> DiffusionLoss:
    """Noise ``x0`` ``(B, …)`` at uniform random timesteps and score the network's output.

    ``latent_keep`` ``(B,)`` bool drops the condition for some rows (classifier-free guidance
    training). Random draws use the global generator unless one is given, so DDP ranks seeded
    differently draw different noise and timesteps.
    """
    batch = x0.shape[0]
    t = torch.randint(0, denoiser.schedule.steps, (batch,), device=x0.device, generator=generator)
    noise = torch.randn(x0.shape, device=x0.device, dtype=x0.dtype, generator=generator)
    x_t = denoiser.schedule.add_noise(x0, t, noise)
    output = denoiser.network_output(x_t, t, condition, latent_keep)
    alpha, sigma = denoiser.schedule.alpha_sigma(t, x0)
    target = training_target(x0, noise, alpha, sigma, denoiser.parameterisation)
    per_sample = (output.float() - target.float()).pow(2).flatten(1).mean(1)
    prediction = prediction_from_output(output, x_t, alpha, sigma, denoiser.parameterisation)
    return DiffusionLoss(per_sample=per_sample, prediction=prediction, timesteps=t)


def condition_keep_mask(batch: int, drop_probability: float, device: torch.device,
                        generator: torch.Generator | None = None) -> Tensor:
    """``(B,)`` bool, False with ``drop_probability``: rows trained unconditionally for CFG."""
    return torch.rand(batch, device=device, generator=generator) >= drop_probability
