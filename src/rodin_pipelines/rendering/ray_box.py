"""Ray–box clipping: where each ray enters and leaves the scene cube."""

from __future__ import annotations

import torch
from torch import Tensor

from rodin_pipelines.rendering.rays import Rays

PARALLEL_EPSILON = 1e-9
"""Directions components smaller than this are treated as parallel to a slab."""


def near_far_from_box(
    rays: Rays, half_extent: float, box: tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Entry and exit distances of rays through the cube ``[-half_extent, half_extent]^3``,
    or through ``box`` = (lower corner ``(3,)``, upper corner ``(3,)``) when given.

    Slab method: per axis the ray is inside between ``(±h - o) / d``; the entry is the largest
    per-axis entry, the exit the smallest exit. Ray origins inside the cube enter at 0.

    Returns:
        near: ``(N,)`` entry distance (clamped at 0).
        far: ``(N,)`` exit distance (equal to ``near`` for rays that miss).
        hit: ``(N,)`` bool, whether the ray crosses the cube in front of its origin.
    """
    directions = torch.where(
        rays.directions.abs() < PARALLEL_EPSILON,
        torch.full_like(rays.directions, PARALLEL_EPSILON),
        rays.directions,
    )
    inverse = 1.0 / directions
    if box is None:
        lower, upper = -half_extent, half_extent
    else:
        lower, upper = box[0].to(rays.origins), box[1].to(rays.origins)
    first = (lower - rays.origins) * inverse
    second = (upper - rays.origins) * inverse
    near = torch.minimum(first, second).amax(dim=-1).clamp_min(0.0)
    far = torch.maximum(first, second).amin(dim=-1)
    hit = far > near
    far = torch.where(hit, far, near)
    return near, far, hit
