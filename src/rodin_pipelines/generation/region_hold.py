"""Holding part of a field still while a refinement changes the rest.

A hard mask on the planes (:func:`~rodin_pipelines.generation.plane_refinement.region_mask`)
keeps a hair edit off the shirt, but it freezes the plane that every height reads (XZ), so the
head's colours can only move within what the other two planes reach (CLIP then settles on orange
rather than red). This term lets every plane change and instead penalises what the decoded field
does in a held region (below a height, and inside boxes such as the face): the change of opacity
everywhere there, and the change of colour where the unedited field is occupied.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import SCENE_BOUND
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField

Y_AXIS = 1
"""World axis of height (the avatars stand along +y)."""

OPACITY_STEP = 2 * SCENE_BOUND / 64
"""Ray length an opacity ``1 - exp(-density * step)`` stands for: one of 64 samples across the
scene, about the spacing the renderers use."""


def points_below(count: int, height: float, generator: torch.Generator,
                 bound: float = SCENE_BOUND) -> Tensor:
    """``(count, 3)`` points uniform in the scene box below world height ``height``."""
    if height <= -bound:
        raise ValueError(f"hold_below_height {height} leaves nothing of the scene [-{bound}, "
                         f"{bound}] below it; use a height above -{bound} or null")
    points = (2 * torch.rand(count, 3, generator=generator) - 1) * bound
    top = min(height, bound)
    points[:, Y_AXIS] = -bound + (points[:, Y_AXIS] + bound) * (top + bound) / (2 * bound)
    return points


def points_in_boxes(count: int, boxes: Sequence[Sequence[float]],
                    generator: torch.Generator) -> Tensor:
    """``(count, 3)`` points uniform in the union of axis-aligned ``boxes`` (each
    ``(x0, y0, z0, x1, y1, z1)`` in world units); overlaps are drawn more often, which only
    weights the penalty there more."""
    corners = torch.tensor([list(map(float, box)) for box in boxes]).reshape(-1, 2, 3)
    sizes = corners[:, 1] - corners[:, 0]  # (K, 3)
    if (sizes <= 0).any():
        raise ValueError(f"hold_boxes {[list(b) for b in boxes]}: each box must be (x0, y0, z0, "
                         "x1, y1, z1) with x0 < x1, y0 < y1 and z0 < z1")
    chosen = torch.multinomial(sizes.prod(-1), count, replacement=True, generator=generator)
    unit = torch.rand(count, 3, generator=generator)
    return corners[chosen, 0] + unit * sizes[chosen]


def held_points(count: int, below_height: float | None, boxes: Sequence[Sequence[float]],
                generator: torch.Generator) -> Tensor | None:
    """``(P, 3)`` points of the held region: ``count`` below ``below_height`` and ``count`` in
    ``boxes`` (each part only where set); ``None`` when nothing is held."""
    parts = []
    if below_height is not None:
        parts.append(points_below(count, below_height, generator))
    if boxes:
        parts.append(points_in_boxes(count, boxes, generator))
    return torch.cat(parts) if parts else None


def opacity(density: Tensor) -> Tensor:
    """Opacity of one sample of length :data:`OPACITY_STEP` of ``density``."""
    return 1 - torch.exp(-density * OPACITY_STEP)


def field_change(changed: Tensor, original: Tensor, decoder: TriplaneDecoder,
                 points: Tensor) -> Tensor:
    """Scalar: how much tri-plane ``changed`` ``(3, C, R, R)`` decodes differently from
    ``original`` at ``points`` ``(P, 3)``: mean squared opacity change plus the squared colour
    change averaged with the original opacity as weight (empty space has no colour to keep)."""
    with torch.no_grad():
        density_before, colour_before = TriplaneField(original, decoder)(points)
        weight = opacity(density_before)
    density_after, colour_after = TriplaneField(changed, decoder)(points)
    opacity_change = (opacity(density_after) - weight).pow(2).mean()
    colour_change = ((colour_after - colour_before).pow(2).sum(-1) * weight).sum()
    return opacity_change + colour_change / weight.sum().clamp_min(1e-6)
