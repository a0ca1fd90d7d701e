"""A Gaussian data set whose exact denoiser is known in closed form (for sampler tests)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rodin_pipelines.diffusion.schedule import NoiseSchedule


class ExactGaussianDenoiser(nn.Module):
    """``E[x0 | x_t]`` for ``x0 ~ N(mean, std²)`` per dimension: an x0-parameterised network."""

    def __init__(self, schedule: NoiseSchedule, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.schedule, self.mean, self.std = schedule, mean.double(), std.double()

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        alpha, sigma = self.schedule.alpha_sigma(t.round().long(), x.double())
        variance = self.std ** 2
        gain = alpha * variance / (alpha ** 2 * variance + sigma ** 2)
        return (self.mean + gain * (x.double() - alpha * self.mean)).to(x.dtype)
