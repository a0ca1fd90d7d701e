"""Samplers over the denoiser interface: ancestral DDPM, DDIM and DPM-Solver++(2M).

Each makes exactly ``steps`` network evaluations, from ``T-1`` down to 0 (DDPM and DDIM evenly
spaced in ``t``, :meth:`NoiseSchedule.sampling_timesteps`; DPM-Solver++ evenly in log-SNR,
:meth:`NoiseSchedule.log_snr_timesteps`), and the last step lands on the clean sample
(``t = -1``, ``abar = 1``).
Coefficients are computed in float64 and applied in the sample's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import torch
from torch import Tensor
from tqdm.auto import tqdm

from rodin_pipelines.diffusion.denoiser import Predict
from rodin_pipelines.diffusion.schedule import NoiseSchedule

CLEAN = -1
"""The timestep after the last one: ``abar = 1``, no noise left."""


class SamplerName(StrEnum):
    DDPM = "ddpm"
    DDIM = "ddim"
    DPM_SOLVER_PP_2M = "dpmpp_2m"


def _abar(schedule: NoiseSchedule, t: int) -> float:
    return float(schedule.alpha_bar(torch.tensor(t)))


def _timesteps(x: Tensor, t: int) -> Tensor:
    return torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)


def _pairs(schedule: NoiseSchedule, steps: int, progress: bool, name: str,
           times: list[int] | None = None):
    times = schedule.sampling_timesteps(steps) if times is None else times
    nexts = times[1:] + [CLEAN]
    return tqdm(list(zip(times, nexts)), desc=name, disable=not progress, leave=False)


def sample_ddpm(predict: Predict, schedule: NoiseSchedule, noise: Tensor, steps: int,
                generator: torch.Generator | None = None, progress: bool = False) -> Tensor:
    """Ancestral sampling from the posterior ``q(x_s | x_t, x0)`` between respaced timesteps."""
    x = noise
    for t, s in _pairs(schedule, steps, progress, "ddpm"):
        x0 = predict(x, _timesteps(x, t)).x0
        abar_t, abar_s = _abar(schedule, t), _abar(schedule, s)
        beta = 1.0 - abar_t / abar_s
        mean = (abar_s ** 0.5 * beta / (1.0 - abar_t)) * x0 \
            + ((abar_t / abar_s) ** 0.5 * (1.0 - abar_s) / (1.0 - abar_t)) * x
        variance = (1.0 - abar_s) / (1.0 - abar_t) * beta
        if variance > 0:
            fresh = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            mean = mean + variance ** 0.5 * fresh
        x = mean
    return x


def sample_ddim(predict: Predict, schedule: NoiseSchedule, noise: Tensor, steps: int,
                generator: torch.Generator | None = None, progress: bool = False,
                eta: float = 0.0, times: list[int] | None = None) -> Tensor:
    """DDIM (deterministic at ``eta = 0``; ``eta = 1`` matches DDPM's variance). ``times`` (falling,
    ``steps`` of them) starts elsewhere than ``T-1``: ``noise`` is then ``x`` at ``times[0]``."""
    x = noise
    for t, s in _pairs(schedule, steps, progress, "ddim", times):
        prediction = predict(x, _timesteps(x, t))
        abar_t, abar_s = _abar(schedule, t), _abar(schedule, s)
        variance = eta ** 2 * (1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s)
        x = abar_s ** 0.5 * prediction.x0 + max(1.0 - abar_s - variance, 0.0) ** 0.5 * prediction.eps
        if variance > 0:
            x = x + variance ** 0.5 * torch.randn(x.shape, generator=generator, dtype=x.dtype,
                                                  device=x.device)
    return x


def sample_dpm_solver_pp_2m(predict: Predict, schedule: NoiseSchedule, noise: Tensor, steps: int,
                            generator: torch.Generator | None = None,
                            progress: bool = False) -> Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022), multistep second order in ``lambda = log(alpha/sigma)``
    at timesteps evenly spaced in ``lambda``; the first step and the step onto the smallest
    noise level are first order ("lower order final", as DPM-Solver and diffusers do below 15
    steps), the last (onto ``sigma = 0``) returns the denoised estimate.

    Why (measured, ``benchmarks/results/sampler_quality.json``): with steps evenly spaced in
    ``t`` the step onto ``t = 0`` is ~5x longer in ``lambda`` than the one before, so the
    second-order extrapolation ``(1 + 1/2r) x0 - (1/2r) x0_prev`` weighted the difference of
    two imperfect network predictions by ~2.3, and 10-step samples were worse than DDIM's."""
    x = noise
    previous_x0: Tensor | None = None
    previous_h: float | None = None
    times = schedule.log_snr_timesteps(steps)
    for t, s in _pairs(schedule, steps, progress, "dpmpp_2m", times):
        x0 = predict(x, _timesteps(x, t)).x0
        if s == CLEAN:
            return x0
        abar_t, abar_s = _abar(schedule, t), _abar(schedule, s)
        lambda_t = 0.5 * (torch.log(torch.tensor(abar_t / (1.0 - abar_t), dtype=torch.float64)))
        lambda_s = 0.5 * (torch.log(torch.tensor(abar_s / (1.0 - abar_s), dtype=torch.float64)))
        h = float(lambda_s - lambda_t)
        denoised = x0
        if previous_x0 is not None and previous_h is not None and s != times[-1]:
            r = previous_h / h
            denoised = (1.0 + 1.0 / (2.0 * r)) * x0 - (1.0 / (2.0 * r)) * previous_x0
        sigma_ratio = ((1.0 - abar_s) / (1.0 - abar_t)) ** 0.5
        x = sigma_ratio * x - abar_s ** 0.5 * float(torch.expm1(torch.tensor(-h))) * denoised
        previous_x0, previous_h = x0, h
    return x


SAMPLERS: dict[SamplerName, Callable[..., Tensor]] = {
    SamplerName.DDPM: sample_ddpm,
    SamplerName.DDIM: sample_ddim,
    SamplerName.DPM_SOLVER_PP_2M: sample_dpm_solver_pp_2m,
}


def sample(name: SamplerName | str, predict: Predict, schedule: NoiseSchedule, noise: Tensor,
           steps: int, generator: torch.Generator | None = None, progress: bool = False) -> Tensor:
    """Run the named sampler from ``noise`` ``(B, …)`` with exactly ``steps`` evaluations."""
    try:
        chosen = SAMPLERS[SamplerName(name)]
    except ValueError:
        raise ValueError(f"unknown sampler {name!r}; choose one of "
                         f"{[n.value for n in SamplerName]}") from None
    with torch.no_grad():
        return chosen(predict, schedule, noise, steps, generator=generator, progress=progress)
