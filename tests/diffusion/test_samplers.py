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


@pytest.mark.parametrize("count", [1, 2, 10, 100, 1000])
def test_log_snr_timesteps_are_distinct_and_evenly_spaced_in_log_snr(count) -> None:
    schedule = NoiseSchedule()
    times = schedule.log_snr_timesteps(count)
    assert len(times) == count and times[0] == 999 and (count == 1 or times[-1] == 0)
    assert all(a > b for a, b in zip(times, times[1:]))
    if count == 10:
        steps = -torch.diff(schedule.log_snr()[torch.tensor(times)])
        # even in lambda up to rounding; even spacing in t makes the last step ~5x the others
        assert float(steps.max() / steps.min()) < 1.3, steps


class NoisyPrediction(torch.nn.Module):
    """The exact denoiser plus a fixed-seed error on every x0 prediction (what a trained network
    adds), to see how a sampler amplifies prediction errors."""

    def __init__(self, exact: torch.nn.Module, error: float) -> None:
        super().__init__()
        self.exact, self.error = exact, error
        self.generator = torch.Generator().manual_seed(1)

    def forward(self, x, t, latent=None, keep=None):
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return self.exact(x, t) + self.error * noise


def test_dpm_solver_beats_ddim_at_ten_steps_with_an_imperfect_denoiser() -> None:
    # Lu et al. 2022: DPM-Solver++(2M) beats DDIM at 10-20 steps. Per-dimension stds from 0.01
    # to 1 (as tri-plane channels); the score is the mean |log| of sample std / true std.
    torch.manual_seed(0)
    mean, std = 0.5 * torch.randn(32), torch.logspace(-2, 0, 32)
    schedule = NoiseSchedule()
    noise = torch.randn(4000, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def log_std_error(name: str, error: float) -> float:
        network = NoisyPrediction(ExactGaussianDenoiser(schedule, mean, std), error)
        samples = sample(name, Denoiser(network, schedule, "x0").predictor(), schedule,
                         noise.clone(), 10)
        return float((samples.std(0) / std).log().abs().mean())

    for error in (0.0, 0.05):
        assert log_std_error("dpmpp_2m", error) < 0.9 * log_std_error("ddim", error), error
