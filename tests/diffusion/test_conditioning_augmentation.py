"""The upsampler's low-resolution input: area downsampling, bilinear context, and the random
degradations of conditioning augmentation, all plane by plane."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from rodin_pipelines.diffusion.conditioning_augmentation import (
    ConditioningAugmentation,
    degrade_low_resolution,
    degraded_with_level,
    downsample_rolled_out,
    noised_at_level,
    upsampler_context,
)
from rodin_pipelines.triplane.layout import roll_in, roll_out

NONE = ConditioningAugmentation(noise_std_max=0.0, blur_probability=0.0, resize_probability=0.0)


def constant_planes(values: tuple[float, float, float], channels: int, resolution: int):
    """A rolled-out ``(C, R, 3R)`` map whose planes XY, XZ, YZ hold ``values``."""
    return roll_out(torch.tensor(values).view(3, 1, 1, 1).expand(3, channels, resolution,
                                                                  resolution).clone())


def test_downsample_averages_each_plane_on_its_own() -> None:
    # One channel, R = 2: plane p holds [[4p, 4p+1], [4p+2, 4p+3]], whose mean is 4p + 1.5.
    planes = torch.arange(12, dtype=torch.float32).reshape(3, 1, 2, 2)
    low = downsample_rolled_out(roll_out(planes), 1)
    assert low.shape == (1, 1, 3)
    assert low.flatten().tolist() == [1.5, 5.5, 9.5]
    batched = downsample_rolled_out(roll_out(planes)[None].expand(2, -1, -1, -1), 1)
    assert batched.shape == (2, 1, 1, 3)


@pytest.mark.parametrize("batched", [False, True])
def test_context_upsamples_each_plane_without_blending_borders(batched: bool) -> None:
    low = constant_planes((1.0, 2.0, 3.0), channels=2, resolution=4)
    high = upsampler_context(low[None] if batched else low, 8)
    assert high.shape == ((1,) if batched else ()) + (2, 8, 24)
    # A bilinear resize of the rolled map would mix 1 and 2 at column 8; per plane it cannot.
    expected = constant_planes((1.0, 2.0, 3.0), channels=2, resolution=8)
    assert torch.equal(high.reshape(2, 8, 24), expected)


def test_context_is_bilinear_with_half_texel_centres() -> None:
    # One plane row [0, 1] at R = 2 → 4: texel centres at 0.25, 0.75 → samples at 1/8, 3/8...
    # (align_corners=False): [0, 0.25, 0.75, 1] after clamping at the edges.
    ramp = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    low = roll_out(torch.stack([ramp, ramp, ramp])[:, None])
    high = upsampler_context(low, 4)
    assert high[0, 0, :4].tolist() == [0.0, 0.25, 0.75, 1.0]


def test_no_degradation_is_the_identity() -> None:
    low = torch.randn(2, 4, 12)
    assert torch.equal(degrade_low_resolution(low, NONE), low)


def test_blur_uses_a_3x3_gaussian_per_plane() -> None:
    # An impulse in the middle of plane XY; XZ and YZ are zero and must stay exactly zero.
    low = torch.zeros(1, 5, 15)
    low[0, 2, 2] = 1.0
    blur_only = ConditioningAugmentation(noise_std_max=0.0, blur_probability=1.0,
                                         blur_sigma_max=0.6, resize_probability=0.0)
    torch.manual_seed(3)
    blurred = degrade_low_resolution(low, blur_only)
    torch.manual_seed(3)
    torch.rand(())  # the blur's coin flip
    sigma = float(torch.empty(()).uniform_(0.05, 0.6))
    side = math.exp(-0.5 / sigma ** 2)  # the 1D kernel is [side, 1, side] / (1 + 2 side)
    centre, edge = 1 / (1 + 2 * side), side / (1 + 2 * side)
    planes = roll_in(blurred)
    assert float(planes[0, 0, 2, 2]) == pytest.approx(centre ** 2, rel=1e-5)
    assert float(planes[0, 0, 2, 1]) == pytest.approx(centre * edge, rel=1e-5)
    assert float(planes[0, 0, 1, 1]) == pytest.approx(edge ** 2, rel=1e-5)
    assert float(planes[0, 0, 0, 0]) == 0.0  # 3×3: nothing two texels away
    assert float(planes[0].sum()) == pytest.approx(1.0, rel=1e-5)
    assert torch.equal(planes[1:], torch.zeros_like(planes[1:]))


def test_resize_keeps_constant_planes_and_does_not_blend_them() -> None:
    low = constant_planes((1.0, -2.0, 5.0), channels=3, resolution=8)
    resize_only = ConditioningAugmentation(noise_std_max=0.0, blur_probability=0.0,
                                           resize_probability=1.0)
    assert torch.allclose(degrade_low_resolution(low, resize_only), low, atol=1e-6)
    # A plane with detail loses it through the 4×4 detour: a checkerboard averages to its mean.
    checker = ((torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2).float()
    detailed = roll_out(checker.expand(3, 1, 8, 8))
    assert torch.allclose(degrade_low_resolution(detailed, resize_only),
                          torch.full_like(detailed, 0.5), atol=1e-6)


def test_noise_std_is_drawn_up_to_the_maximum() -> None:
    low = torch.zeros(4, 32, 96)
    noise_only = ConditioningAugmentation(noise_std_max=0.1, blur_probability=0.0,
                                          resize_probability=0.0)
    torch.manual_seed(7)
    noisy = degrade_low_resolution(low, noise_only)
    torch.manual_seed(7)
    torch.rand(()), torch.rand(())  # the blur's and the resize's coin flips
    noise_std = float(torch.rand(())) * 0.1
    assert float(noisy.std()) == pytest.approx(noise_std, rel=0.02)
    assert 0.0 < noise_std <= 0.1


def test_noise_at_a_level_is_variance_preserving() -> None:
    """sqrt(1 - s²) x + s ε: level 0 is the input, level 1 pure unit noise, and unit-variance
    planes stay unit-variance at every level in between."""
    generator = torch.Generator().manual_seed(0)
    low = torch.randn(4, 16, 48, generator=generator)
    assert torch.equal(noised_at_level(low, torch.tensor(0.0), generator), low)
    for level in (0.3, 0.7, 1.0):
        noised = noised_at_level(low, torch.tensor(level), generator)
        assert float(noised.std()) == pytest.approx(1.0, abs=0.03)
        correlation = torch.corrcoef(torch.stack([noised.flatten(), low.flatten()]))[0, 1]
        assert float(correlation) == pytest.approx(math.sqrt(1 - level**2), abs=0.03)
    batched = noised_at_level(low[None].expand(2, -1, -1, -1), torch.tensor([0.0, 1.0]),
                              generator)
    assert torch.equal(batched[0], low)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        noised_at_level(low, torch.tensor(1.5))


def test_the_level_is_drawn_up_to_its_maximum_and_absent_when_off() -> None:
    low = torch.zeros(2, 4, 12)
    assert degraded_with_level(low, NONE)[1] is None
    torch.manual_seed(0)
    levels = [float(degraded_with_level(low, replace(NONE, noise_level_max=0.5))[1])
              for _ in range(200)]
    assert 0.0 <= min(levels) < 0.05 and 0.45 < max(levels) <= 0.5
    assert sum(levels) / len(levels) == pytest.approx(0.25, abs=0.03)
    # Zero planes noised at level s have std s.
    degraded, level = degraded_with_level(torch.zeros(4, 16, 48), replace(NONE, noise_level_max=1))
    assert float(degraded.std()) == pytest.approx(float(level), abs=0.03 + 0.05 * float(level))
    with pytest.raises(ValueError, match="noise_level_max"):
        ConditioningAugmentation(noise_level_max=1.5)
