"""The cascade (latent → base → upsampler → de-normalised tri-planes) with toy networks whose
samples are known exactly, and the per-texel Gaussian baseline."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from rodin_pipelines.diffusion.cascade import (
    SamplingSettings,
    gaussian_baseline_triplanes,
    sample_triplanes,
)
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings
from rodin_pipelines.triplane.layout import roll_out
from rodin_pipelines.triplane.normalisation import PlaneStatistics

CHANNELS, BASE_RESOLUTION, RESOLUTION = 2, 4, 8
SCHEDULE = NoiseSchedule(ScheduleSettings(steps=100))
STATISTICS = PlaneStatistics(mean=torch.tensor([10.0, -1.0]), std=torch.tensor([2.0, 0.5]))
PLANE_VALUES = torch.tensor([1.0, 2.0, 3.0])  # what the toy base model puts on XY, XZ, YZ


class PlanePatternBase(nn.Module):
    """An x0 network: plane p of every channel is ``PLANE_VALUES[p] · latent[:, 0]`` when the
    latent is kept, 0 when it is dropped (so guidance scale g gives g times the pattern)."""

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        batch, _, r, _ = x.shape
        pattern = PLANE_VALUES.repeat_interleave(r).expand(batch, CHANNELS, r, 3 * r)
        if latent is None:
            return torch.zeros_like(x)
        keep = torch.ones(batch) if latent_keep is None else latent_keep.float()
        return pattern * (latent[:, 0] * keep).view(-1, 1, 1, 1)


class ContextPlusTen(nn.Module):
    """An x0 upsampler network: its context channels (the upsampled base sample) plus 10."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[tuple[int, ...]] = []

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        self.inputs.append(tuple(x.shape))
        return x[:, CHANNELS:] + 10.0


class HalfOfInput(nn.Module):
    """An x0 network whose sample depends on the starting noise: x0 = x_t / 2."""

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        return 0.5 * x


def _expected(plane_values: Tensor, scale: Tensor) -> Tensor:
    """``(B, 3, C, R, R)``: plane p, channel c of avatar b is ``plane_values[p] · scale[b]``,
    de-normalised with ``STATISTICS``."""
    normalised = plane_values.view(1, 3, 1, 1, 1) * scale.view(-1, 1, 1, 1, 1)
    std, mean = STATISTICS.std.view(1, 1, -1, 1, 1), STATISTICS.mean.view(1, 1, -1, 1, 1)
    return (normalised * std + mean).expand(-1, 3, CHANNELS, RESOLUTION, RESOLUTION)


@pytest.mark.parametrize("sampler", ["ddim", "dpmpp_2m"])
def test_base_alone_is_upsampled_per_plane_and_denormalised(sampler: str) -> None:
    base = Denoiser(PlanePatternBase(), SCHEDULE, "x0")
    latents = torch.tensor([[1.0, 0.0], [-0.5, 0.0]])
    settings = SamplingSettings(sampler=sampler, base_steps=5, guidance_scale=3.0)
    planes = sample_triplanes(base, None, latents, 2, CHANNELS, BASE_RESOLUTION, RESOLUTION,
                              STATISTICS, settings, seed=0)
    assert planes.shape == (2, 3, CHANNELS, RESOLUTION, RESOLUTION)
    # Both samplers end on the x0 estimate: guidance 3 -> 3 · pattern · latent, and each plane
    # is upsampled on its own (constant planes stay constant: nothing blends across borders): e.g. avatar 0,
    # plane YZ, channel 0 is 3 · 3 · 1 · 2 + 10 = 28.
    assert torch.allclose(planes, _expected(PLANE_VALUES, 3.0 * latents[:, 0]), atol=1e-5)
    assert float(planes[0, 2, 0, 0, 0]) == pytest.approx(28.0)
    assert base.evaluations == 5


def test_the_upsampler_sees_the_upsampled_base_sample_as_context() -> None:
    base = Denoiser(PlanePatternBase(), SCHEDULE, "x0")
    network = ContextPlusTen()
    upsampler = Denoiser(network, SCHEDULE, "x0")
    latents = torch.tensor([[2.0, 5.0]])
    settings = SamplingSettings(sampler="ddim", base_steps=4, upsampler_steps=3,
                                guidance_scale=1.0)
    planes = sample_triplanes(base, upsampler, latents, 1, CHANNELS, BASE_RESOLUTION, RESOLUTION,
                              STATISTICS, settings, seed=0)
    # x_t and the context side by side: 2C channels at the full resolution, the conditional and
    # unconditional halves in one batch of 2.
    assert network.inputs == [(2, 2 * CHANNELS, RESOLUTION, 3 * RESOLUTION)] * 3
    assert (base.evaluations, upsampler.evaluations) == (4, 3)
    assert torch.allclose(planes, _expected(PLANE_VALUES * 2.0 + 10.0, torch.ones(1)), atol=1e-5)


class ContextPlusTenWhenKept(nn.Module):
    """An x0 upsampler network: its context plus 10 where the latent is kept (so guidance g on
    it adds 10 g)."""

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        keep = torch.ones(len(x)) if latent_keep is None else latent_keep.float()
        return x[:, CHANNELS:] + 10.0 * keep.view(-1, 1, 1, 1)


@pytest.mark.parametrize(("upsampler_scale", "added"), [(None, 30.0), (2.0, 20.0), (1.0, 10.0)])
def test_the_upsampler_has_its_own_guidance_scale_when_set(upsampler_scale: float | None,
                                                           added: float) -> None:
    base = Denoiser(PlanePatternBase(), SCHEDULE, "x0")
    upsampler = Denoiser(ContextPlusTenWhenKept(), SCHEDULE, "x0")
    latents = torch.tensor([[1.0, 0.0]])
    settings = SamplingSettings(base_steps=3, upsampler_steps=2, guidance_scale=3.0,
                                upsampler_guidance_scale=upsampler_scale)
    planes = sample_triplanes(base, upsampler, latents, 1, CHANNELS, BASE_RESOLUTION, RESOLUTION,
                              STATISTICS, settings, seed=0)
    # The base model at scale 3 (3 x the pattern), the upsampler at its own scale (or 3).
    assert torch.allclose(planes, _expected(PLANE_VALUES * 3.0 + added, torch.ones(1)),
                          atol=1e-4)


def test_unconditional_sampling_passes_no_latent() -> None:
    base = Denoiser(PlanePatternBase(), SCHEDULE, "x0")
    planes = sample_triplanes(base, None, None, 3, CHANNELS, BASE_RESOLUTION, RESOLUTION,
                              STATISTICS, SamplingSettings(base_steps=2), seed=0)
    # The toy network predicts 0 without a latent: every texel is the channel mean.
    assert torch.allclose(planes, _expected(PLANE_VALUES, torch.zeros(3)))


def test_the_seed_picks_the_noise() -> None:
    base = Denoiser(HalfOfInput(), SCHEDULE, "x0")

    def draw(seed: int) -> Tensor:
        return sample_triplanes(base, None, None, 2, CHANNELS, BASE_RESOLUTION, RESOLUTION,
                                STATISTICS, SamplingSettings(base_steps=3), seed=seed)

    first, again, other = draw(0), draw(0), draw(1)
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    assert not torch.allclose(first[0], first[1])  # avatars of one batch differ too


def test_gaussian_baseline_reproduces_identical_training_planes_texel_by_texel() -> None:
    planes = torch.arange(3 * CHANNELS * 16, dtype=torch.float32).reshape(3, CHANNELS, 4, 4)
    baseline = gaussian_baseline_triplanes([planes, planes.clone()], 5, STATISTICS, seed=0)
    assert baseline.shape == (5, 3, CHANNELS, 4, 4)
    # Zero spread at every texel: every draw is the training tri-plane itself.
    assert torch.allclose(baseline, planes.expand(5, -1, -1, -1, -1), atol=1e-5)


def test_gaussian_baseline_draws_with_each_texels_mean_and_std() -> None:
    # Two avatars; in normalised units (mean 10 / -1, std 2 / 0.5 per channel) they are -1 and
    # +1 everywhere, so every texel is drawn from N(0, 2) (unbiased std of {-1, 1} is √2) and
    # comes back as channel mean + channel std · N(0, 2).
    low = (-1.0 * STATISTICS.std + STATISTICS.mean).view(1, CHANNELS, 1, 1)
    high = (1.0 * STATISTICS.std + STATISTICS.mean).view(1, CHANNELS, 1, 1)
    training = [low.expand(3, -1, 4, 4), high.expand(3, -1, 4, 4)]
    baseline = gaussian_baseline_triplanes(training, 2000, STATISTICS, seed=0)
    normalised = (baseline - STATISTICS.mean.view(1, 1, -1, 1, 1)) \
        / STATISTICS.std.view(1, 1, -1, 1, 1)
    assert abs(float(normalised.mean())) < 0.01
    assert float(normalised.std()) == pytest.approx(2 ** 0.5, rel=0.01)
    rolled = roll_out(normalised)  # the draws are independent across texels
    assert abs(float(torch.corrcoef(rolled[:, 0, 0, :2].T)[0, 1])) < 0.1
    again = gaussian_baseline_triplanes(training, 2000, STATISTICS, seed=0)
    assert torch.equal(baseline, again)


class ContextAndLevel(nn.Module):
    """An x0 upsampler network built to read its input's noise level: returns its context and
    records the levels it was given."""

    context_noise_conditioned = True

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[Tensor] = []

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None,
                context_level: Tensor | None = None) -> Tensor:
        self.levels.append(context_level)
        return x[:, CHANNELS:]


def test_a_level_conditioned_upsampler_reads_the_noised_base_sample_and_its_level() -> None:
    """Level s: the base sample (3 x the pattern, normalised) becomes sqrt(1 - s²) x + s ε, and
    every upsampler evaluation (both CFG halves) is told s; level 1 leaves only noise."""
    base = Denoiser(PlanePatternBase(), SCHEDULE, "x0")
    latents = torch.tensor([[1.0, 0.0]] * 64)
    outputs = {}
    for level in (0.0, 0.6, 1.0):
        network = ContextAndLevel()
        upsampler = Denoiser(network, SCHEDULE, "x0")
        settings = SamplingSettings(base_steps=2, upsampler_steps=2, guidance_scale=3.0,
                                    upsampler_context_level=level)
        planes = sample_triplanes(base, upsampler, latents, 64, CHANNELS, BASE_RESOLUTION,
                                  RESOLUTION, STATISTICS, settings, seed=0)
        assert len(network.levels) == 2  # one per upsampler step, both CFG halves in each
        for levels in network.levels:
            assert torch.allclose(levels, torch.full((128,), level))
        std, mean = STATISTICS.std.view(1, 1, -1, 1, 1), STATISTICS.mean.view(1, 1, -1, 1, 1)
        outputs[level] = (planes - mean) / std  # normalised again
    clean = _expected(PLANE_VALUES * 3.0, torch.ones(1))
    clean = (clean - STATISTICS.mean.view(1, 1, -1, 1, 1)) / STATISTICS.std.view(1, 1, -1, 1, 1)
    assert torch.allclose(outputs[0.0], clean.expand_as(outputs[0.0]), atol=1e-5)
    # Per texel across the 64 samples: mean sqrt(1 - s²) x, std s (bilinear upsampling of the
    # noise lowers its std a little, by the same factor for both levels).
    for level in (0.6, 1.0):
        error = outputs[level].mean(0) - math.sqrt(1 - level**2) * clean[0]
        assert float(error.abs().mean()) < 0.2  # the mean of 64 draws of std <= 1: ~0.1
    spread = {level: float(outputs[level].std(0).mean()) for level in (0.6, 1.0)}
    assert spread[0.6] / spread[1.0] == pytest.approx(0.6, rel=0.1)
    assert 0.5 < spread[1.0] < 1.05


def test_a_context_level_needs_an_upsampler_trained_for_it() -> None:
    base = Denoiser(PlanePatternBase(), SCHEDULE, "x0")
    upsampler = Denoiser(ContextPlusTen(), SCHEDULE, "x0")
    settings = SamplingSettings(base_steps=2, upsampler_steps=2, upsampler_context_level=0.5)
    with pytest.raises(ValueError, match="context_noise_conditioned"):
        sample_triplanes(base, upsampler, torch.ones(1, 2), 1, CHANNELS, BASE_RESOLUTION,
                         RESOLUTION, STATISTICS, settings, seed=0)


@pytest.mark.parametrize(("changes", "key"), [({"upsampler_context_level": 1.5},
                                               "diffusion.sampling.upsampler_context_level"),
                                              ({"upsampler_context_level": -0.1},
                                               "diffusion.sampling.upsampler_context_level"),
                                              ({"base_steps": 0}, "base_steps"),
                                              ({"upsampler_steps": 0}, "upsampler_steps")])
def test_bad_sampling_settings_stop_naming_their_key(changes: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        SamplingSettings(**changes)
    SamplingSettings(upsampler_context_level=1.0, base_steps=1, upsampler_steps=1)
