"""Refining planes by gradient descent on a coarse offset, in units of the planes' scale,
anchored to the sample."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rodin_pipelines.generation.plane_refinement import (
    RefinementSettings,
    refine_planes,
    region_mask,
    upsampled,
)
from rodin_pipelines.triplane.sampling import sample_triplane

PLANES = torch.randn(2, 3, 4, 8, 8)
SCALE = torch.tensor([1.0, 2.0, 0.5, 4.0])


def test_no_steps_returns_the_planes_untouched() -> None:
    assert refine_planes(PLANES, SCALE, RefinementSettings(steps=0), lambda p, g: p.sum(),
                         []) is PLANES


def test_the_offset_is_upsampled_bilinearly_per_plane() -> None:
    coarse = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).expand(1, 3, 1, 2, 2)
    fine = upsampled(coarse, 4)
    assert fine.shape == (1, 3, 1, 4, 4)
    assert fine[0, 0, 0, 0].tolist() == [0.0, 0.25, 0.75, 1.0]


def test_one_adam_step_moves_every_texel_by_the_learning_rate_times_the_scale() -> None:
    # Lowering -sum(planes) pushes every coarse offset up; Adam's first step is lr · sign(grad),
    # so each texel of channel c rises by exactly 0.05 · scale[c].
    settings = RefinementSettings(steps=1, learning_rate=0.05, anchor_weight=1.0,
                                  offset_resolution=2)
    refined = refine_planes(PLANES, SCALE, settings, lambda p, g: -p.sum(), [])
    expected = PLANES + 0.05 * SCALE.view(1, 1, -1, 1, 1)
    assert torch.allclose(refined, expected, atol=1e-6)
    assert not refined.requires_grad


def test_the_region_mask_keeps_the_planes_that_span_height_above_it() -> None:
    # R = 4 over [-1, 1]: texel centres -0.75, -0.25, 0.25, 0.75; above 0 are the last two.
    mask = region_mask(4, 0.0)[:, 0]
    above = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert torch.equal(mask[0], above[:, None].expand(4, 4))  # XY: y along the height (rows)
    assert torch.equal(mask[1], torch.zeros(4, 4))  # XZ: read at every height
    assert torch.equal(mask[2], above[None, :].expand(4, 4))  # YZ: y along the width (columns)


def test_a_refinement_above_a_height_leaves_points_below_it_unchanged() -> None:
    settings = RefinementSettings(steps=3, learning_rate=0.1, offset_resolution=2,
                                  above_height=0.0)
    refined = refine_planes(PLANES, SCALE, settings, lambda p, g: -p.sum(), [])
    points = torch.rand(2, 64, 3) * 2 - 1
    low, high = points.clone(), points.clone()
    low[..., 1] = -0.3 - 0.6 * torch.rand(2, 64)  # the shirt's heights: rows that stay put
    high[..., 1] = 0.3 + 0.6 * torch.rand(2, 64)
    assert torch.allclose(sample_triplane(refined, low), sample_triplane(PLANES, low), atol=1e-6)
    assert (sample_triplane(refined, high) - sample_triplane(PLANES, high)).abs().min() > 0.01


def test_the_anchor_balances_the_objective() -> None:
    # Objective mean((offset - 0.3)²) in units of the scale, anchor w · mean(offset²): the
    # optimum is offset = 0.3 / (1 + w) = 0.1 at w = 2 (and 0.3 without the anchor).
    def towards(target: float):
        def objective(changed: Tensor, generator: torch.Generator) -> Tensor:
            offset = (changed - PLANES) / SCALE.view(1, 1, -1, 1, 1)
            return (offset - target).pow(2).mean()
        return objective

    for weight, optimum in ((2.0, 0.1), (0.0, 0.3)):
        settings = RefinementSettings(steps=300, learning_rate=0.02, anchor_weight=weight,
                                      offset_resolution=2)
        refined = refine_planes(PLANES, SCALE, settings, towards(0.3), [])
        offset = (refined - PLANES) / SCALE.view(1, 1, -1, 1, 1)
        assert float(offset.mean()) == pytest.approx(optimum, abs=0.01)
        assert float(offset.std()) < 0.01


def test_frozen_modules_get_no_gradients_and_keep_their_flags() -> None:
    trainable, frozen_before = nn.Linear(4, 1), nn.Linear(4, 1).requires_grad_(False)

    def objective(changed: Tensor, generator: torch.Generator) -> Tensor:
        features = changed.permute(0, 1, 3, 4, 2)  # channels last for the linear layers
        return trainable(features).mean() + frozen_before(features).mean()

    settings = RefinementSettings(steps=2, offset_resolution=2)
    refined = refine_planes(PLANES, SCALE, settings, objective, [trainable, frozen_before])
    assert not torch.equal(refined, PLANES)
    assert all(p.requires_grad and p.grad is None for p in trainable.parameters())
    assert all(not p.requires_grad for p in frozen_before.parameters())


def test_a_failing_objective_still_restores_the_flags() -> None:
    module = nn.Linear(2, 2)

    def broken(changed: Tensor, generator: torch.Generator) -> Tensor:
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError, match="render failed"):
        refine_planes(PLANES, SCALE, RefinementSettings(steps=1), broken, [module])
    assert all(p.requires_grad for p in module.parameters())
