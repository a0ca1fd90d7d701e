"""THE noise schedule: variance-preserving, discrete timesteps ``0 … T-1``.

``x_t = alpha_t x_0 + sigma_t eps`` with ``alpha_t = sqrt(abar_t)``, ``sigma_t = sqrt(1 - abar_t)``.
RODIN uses the linear beta schedule of DDPM with 1000 steps for the base model and 100 for the
upsampler (rodin-method §6); the betas are rescaled by ``1000 / T`` as guided-diffusion does, so
a shorter schedule spans the same noise levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

REFERENCE_STEPS = 1000
"""Length of the schedule the linear beta range was designed for (DDPM)."""


@dataclass(frozen=True)
class ScheduleSettings:
    """``parameters_diffusion.yml``: ``steps`` training timesteps, linear betas in
    ``[beta_start, beta_end]`` at ``REFERENCE_STEPS`` steps (rescaled for other lengths)."""

    steps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02


class NoiseSchedule:
    """Per-timestep ``alpha_t``, ``sigma_t`` (float64 tables, looked up in the caller's dtype)."""

    def __init__(self, settings: ScheduleSettings = ScheduleSettings()) -> None:
        if settings.steps < 2:
            raise ValueError(f"a diffusion schedule needs at least 2 steps, got {settings.steps}")
        scale = REFERENCE_STEPS / settings.steps
        betas = torch.linspace(scale * settings.beta_start, scale * settings.beta_end,
                               settings.steps, dtype=torch.float64)
        if float(betas.max()) >= 1.0:
            raise ValueError(f"betas reach {float(betas.max()):.3f} >= 1: lower beta_end or "
                             "use more steps")
        self.settings = settings
        self.steps = settings.steps
        self.alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)

    def alpha_bar(self, t: Tensor) -> Tensor:
        """``abar_t`` for integer timesteps ``t`` (any shape); ``t = -1`` means clean (1.0)."""
        table = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod])
        return table.to(t.device)[t.long() + 1]

    def alpha_sigma(self, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        """``alpha_t``, ``sigma_t`` for ``t`` ``(B,)``, shaped ``(B, 1, …)`` to broadcast over
        ``like`` ``(B, …)`` and in its dtype."""
        abar = self.alpha_bar(t)
        shape = (-1,) + (1,) * (like.dim() - 1)
        alpha = abar.sqrt().reshape(shape).to(like.dtype)
        sigma = (1.0 - abar).sqrt().reshape(shape).to(like.dtype)
        return alpha, sigma

    def add_noise(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """``x_t = alpha_t x_0 + sigma_t eps`` for ``x0``, ``noise`` ``(B, …)`` and ``t`` ``(B,)``."""
        alpha, sigma = self.alpha_sigma(t, x0)
        return alpha * x0 + sigma * noise

    def sampling_timesteps(self, count: int) -> list[int]:
        """``count`` timesteps from ``T-1`` down to 0, evenly spaced (a respaced sampler makes
        exactly one network evaluation at each)."""
        if not 1 <= count <= self.steps:
            raise ValueError(f"sampling steps must be in 1..{self.steps}, got {count}")
        spaced = torch.linspace(self.steps - 1, 0, count, dtype=torch.float64).round().long()
        return [int(t) for t in spaced]

    def log_snr(self) -> Tensor:
        """``lambda_t = log(alpha_t / sigma_t)`` ``(T,)`` float64, falling with ``t``."""
        return 0.5 * torch.log(self.alphas_cumprod / (1.0 - self.alphas_cumprod))

    def log_snr_timesteps(self, count: int) -> list[int]:
        """``count`` distinct timesteps from ``T-1`` down to 0, evenly spaced in ``lambda``
        (DPM-Solver's "logSNR" spacing, Lu et al. 2022): equal solver steps ``h``, where even
        spacing in ``t`` makes the last step onto ``t = 0`` several times longer than the
        others. Rounded to the nearest timestep, then nudged apart where rounding collides."""
        if not 1 <= count <= self.steps:
            raise ValueError(f"sampling steps must be in 1..{self.steps}, got {count}")
        table = self.log_snr()
        targets = torch.linspace(float(table[-1]), float(table[0]), count, dtype=torch.float64)
        times = [int((table - target).abs().argmin()) for target in targets]
        for i in range(count - 2, -1, -1):  # from the end: each above its successor
            times[i] = max(times[i], times[i + 1] + 1)
        times[0] = min(times[0], self.steps - 1)
        for i in range(1, count):  # from the start: each below its predecessor, within T
            times[i] = min(times[i], times[i - 1] - 1)
        return times
