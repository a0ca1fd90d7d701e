"""Schedule, parameterisations and samplers against a Gaussian with an exact denoiser."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gaussian_toy import ExactGaussianDenoiser  # noqa: E402
from rodin_pipelines.diffusion.denoiser import Denoiser  # noqa: E402
from rodin_pipelines.diffusion.parameterisation import (  # noqa: E402
    Parameterisation,
    prediction_from_output,
    training_target,
)
from rodin_pipelines.diffusion.samplers import SamplerName, sample  # noqa: E402
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings  # noqa: E402

MEAN = torch.tensor([1.5, -0.5, 0.0])
STD = torch.tensor([0.5, 2.0, 1.0])


def test_schedule_is_variance_preserving_and_spans_the_same_noise_at_any_length() -> None:
    long, short = NoiseSchedule(ScheduleSettings(steps=1000)), NoiseSchedule(ScheduleSettings(steps=100))
    t = torch.arange(1000)
    alpha, sigma = long.alpha_sigma(t, torch.zeros(1000, 1, dtype=torch.float64))
    assert torch.allclose(alpha ** 2 + sigma ** 2, torch.ones_like(alpha))
    assert bool((long.alphas_cumprod.diff() < 0).all())
    # Rescaled betas: the last noise level of a 100-step schedule is as noisy as 1000 steps'.
    assert float(long.alphas_cumprod[-1]) < 1e-3 and float(short.alphas_cumprod[-1]) < 1e-3
    assert float(long.alpha_bar(torch.tensor(-1))) == 1.0
    times = long.sampling_timesteps(7)
    assert times[0] == 999 and times[-1] == 0 and len(set(times)) == 7
    assert all(a > b for a, b in zip(times, times[1:]))
    with pytest.raises(ValueError, match="sampling steps"):
        long.sampling_timesteps(1001)


@pytest.mark.parametrize("parameterisation", list(Parameterisation))
def test_each_parameterisation_recovers_clean_sample_and_noise(parameterisation) -> None:
    schedule = NoiseSchedule()
    x0, noise = torch.randn(5, 4, 3, dtype=torch.float64), torch.randn(5, 4, 3, dtype=torch.float64)
    t = torch.tensor([0, 10, 300, 800, 999])
    alpha, sigma = schedule.alpha_sigma(t, x0)
    x_t = schedule.add_noise(x0, t, noise)
    target = training_target(x0, noise, alpha, sigma, parameterisation)
    prediction = prediction_from_output(target, x_t, alpha, sigma, parameterisation)
    assert torch.allclose(prediction.x0, x0, atol=1e-6)
    assert torch.allclose(prediction.eps, noise, atol=1e-6)


@pytest.mark.parametrize("name", list(SamplerName))
@pytest.mark.parametrize("steps", [1, 5, 20])
def test_each_sampler_makes_exactly_the_requested_network_evaluations(name, steps) -> None:
    schedule = NoiseSchedule()
    denoiser = Denoiser(ExactGaussianDenoiser(schedule, MEAN, STD), schedule, "x0")
    calls = []
    counted = denoiser.network
    denoiser.network = lambda *args: calls.append(1) or counted(*args)
    sample(name, denoiser.predictor(), schedule, torch.randn(4, 3), steps)
    assert len(calls) == steps == denoiser.evaluations


@pytest.mark.parametrize("name", list(SamplerName))
def test_samplers_agree_on_mean_and_variance_of_a_gaussian(name) -> None:
    schedule = NoiseSchedule()
    denoiser = Denoiser(ExactGaussianDenoiser(schedule, MEAN, STD), schedule, "x0")
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(20_000, 3, generator=generator, dtype=torch.float64)
    samples = sample(name, denoiser.predictor(), schedule, noise, 200, generator=generator)
    # Standard error of the mean is std/141, of the std about std/200; at 200 steps the
    # discretisation error of each sampler is a few per cent of the std (10 steps: 25-40 %).
    assert torch.allclose(samples.mean(0).float(), MEAN, atol=0.05 * float(STD.max())), samples.mean(0)
    assert torch.allclose(samples.std(0).float() / STD, torch.ones(3), atol=0.04), samples.std(0)


def test_unknown_sampler_is_named_in_the_error() -> None:
    schedule = NoiseSchedule()
    denoiser = Denoiser(ExactGaussianDenoiser(schedule, MEAN, STD), schedule, "x0")
    with pytest.raises(ValueError, match="dpmpp_2m"):
        sample("euler", denoiser.predictor(), schedule, torch.randn(2, 3), 3)
