"""The volume rendering quadrature against hand-computed numbers."""

import math

import torch

from rodin_pipelines.rendering.compositing import (
    composite,
    deltas_from_distances,
    over_background,
    straight_rgba,
    weights_from_density,
)


def test_weights_match_hand_computed_case():
    density = torch.tensor([[1.0, 1.0, 0.0, 2.0]])
    deltas = torch.tensor([[math.log(2.0)] * 4])
    weights = weights_from_density(density, deltas)
    # alpha = [1/2, 1/2, 0, 3/4]; T = [1, 1/2, 1/4, 1/4]
    assert torch.allclose(weights, torch.tensor([[0.5, 0.25, 0.0, 0.1875]]), atol=1e-6)


def test_weights_sum_to_at_most_one_and_reach_one_when_opaque():
    density = torch.rand(100, 64) * 50
    deltas = torch.rand(100, 64) * 0.05
    sums = weights_from_density(density, deltas).sum(-1)
    assert (sums <= 1.0 + 1e-6).all() and (sums >= 0).all()
    opaque = weights_from_density(torch.full((1, 10), 1e4), torch.full((1, 10), 0.1)).sum()
    assert opaque.item() > 0.999999


def test_deltas_run_to_far_for_the_last_sample():
    deltas = deltas_from_distances(torch.tensor([[1.0, 1.5, 2.5]]), torch.tensor([3.0]))
    assert torch.allclose(deltas, torch.tensor([[0.5, 1.0, 0.5]]))


def test_composite_and_background_and_straight_alpha():
    weights = torch.tensor([[0.5, 0.25]])
    colours = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    colour, opacity = composite(weights, colours)
    assert torch.allclose(colour, torch.tensor([[0.5, 0.25, 0.0]]))
    assert opacity.item() == 0.75
    on_white = over_background(colour, opacity, torch.ones(3))
    assert torch.allclose(on_white, torch.tensor([[0.75, 0.5, 0.25]]))
    rgba = straight_rgba(colour, opacity)
    assert torch.allclose(rgba, torch.tensor([[2 / 3, 1 / 3, 0.0, 0.75]]), atol=1e-6)
