"""Floaters: opacity outside the training silhouettes and a mesh's largest piece."""

from __future__ import annotations

import torch
import trimesh

from rodin_pipelines.evaluation.floaters import (largest_component_share, opacity_outside,
                                                 silhouette_union)


def rgba_with_alpha(alpha: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.zeros(*alpha.shape, 3), alpha[..., None]], -1)


def test_the_union_of_silhouettes_grows_by_the_dilation() -> None:
    alpha = torch.zeros(2, 7, 7)
    alpha[0, 1, 1] = 1.0   # one avatar's pixel
    alpha[1, 5, 5] = 0.9   # another's
    alpha[1, 3, 3] = 0.4   # below the silhouette threshold
    union = silhouette_union(rgba_with_alpha(alpha), dilation_pixels=0)
    assert union.sum() == 2 and union[1, 1] and union[5, 5]
    grown = silhouette_union(rgba_with_alpha(alpha), dilation_pixels=1)
    assert grown.sum() == 18  # two 3 x 3 squares
    assert grown[0, 0] and grown[6, 6] and not grown[3, 3]


def test_opacity_outside_averages_alpha_over_disallowed_pixels_only() -> None:
    allowed = torch.zeros(2, 2, dtype=torch.bool)
    allowed[0, 0] = True
    alpha = torch.tensor([[[1.0, 0.2], [0.4, 0.0]], [[1.0, 0.0], [0.0, 0.6]]])
    # outside pixels: 0.2, 0.4, 0.0 and 0.0, 0.0, 0.6 -> mean 1.2 / 6
    assert abs(opacity_outside(rgba_with_alpha(alpha), allowed) - 0.2) < 1e-6
    assert opacity_outside(rgba_with_alpha(alpha), torch.ones(2, 2, dtype=torch.bool)) == 0.0


def test_largest_component_share_counts_vertices_of_the_biggest_piece() -> None:
    head = trimesh.creation.icosphere(subdivisions=1)          # 42 vertices
    floater = trimesh.creation.box().apply_translation([5, 0, 0])  # 8 vertices
    assert largest_component_share(head) == 1.0
    both = trimesh.util.concatenate([head, floater])
    assert abs(largest_component_share(both) - 42 / 50) < 1e-9
    assert largest_component_share(trimesh.Trimesh()) == 0.0
