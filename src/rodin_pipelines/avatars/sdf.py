"""Signed distance primitives and their combinations, over point batches ``(P, 3)``.

Negative inside, positive outside, in world units. Formulas after Inigo Quilez's catalogue of
distance functions; the ellipsoid and warped shapes are bounds rather than exact distances, which
is enough for a soft surface of a few hundredths of a unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

Vector = Sequence[float]


def _vec(values: Vector, like: Tensor) -> Tensor:
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)


def sphere(points: Tensor, centre: Vector, radius: float) -> Tensor:
    """Distance ``(P,)`` to a sphere."""
    return (points - _vec(centre, points)).norm(dim=-1) - radius


def ellipsoid(points: Tensor, centre: Vector, radii: Vector) -> Tensor:
    """Approximate distance ``(P,)`` to an axis-aligned ellipsoid (iq's bound, exact on axes)."""
    radii_t = _vec(radii, points)
    local = points - _vec(centre, points)
    k0 = (local / radii_t).norm(dim=-1)
    k1 = (local / (radii_t * radii_t)).norm(dim=-1).clamp_min(1e-9)
    return k0 * (k0 - 1.0) / k1


def capsule(points: Tensor, start: Vector, end: Vector, radius: float) -> Tensor:
    """Distance ``(P,)`` to a segment from ``start`` to ``end`` thickened by ``radius``."""
    a, b = _vec(start, points), _vec(end, points)
    pa, ba = points - a, b - a
    h = ((pa @ ba) / (ba @ ba)).clamp(0.0, 1.0)
    return (pa - h[:, None] * ba).norm(dim=-1) - radius


def round_box(points: Tensor, centre: Vector, half_size: Vector, rounding: float) -> Tensor:
    """Distance ``(P,)`` to an axis-aligned box with rounded edges (``half_size`` includes them)."""
    q = (points - _vec(centre, points)).abs() - (_vec(half_size, points) - rounding)
    outside = q.clamp_min(0.0).norm(dim=-1)
    inside = q.amax(dim=-1).clamp_max(0.0)
    return outside + inside - rounding


def torus_facing_z(points: Tensor, centre: Vector, ring_radius: float, tube_radius: float) -> Tensor:
    """Distance ``(P,)`` to a torus lying in a plane of constant z (a ring seen from the front)."""
    local = points - _vec(centre, points)
    ring = local[:, :2].norm(dim=-1) - ring_radius
    return torch.stack([ring, local[:, 2]], dim=-1).norm(dim=-1) - tube_radius


def cylinder_y(points: Tensor, centre: Vector, radius: float, half_height: float) -> Tensor:
    """Distance ``(P,)`` to a capped cylinder along +y."""
    local = points - _vec(centre, points)
    radial = local[:, [0, 2]].norm(dim=-1) - radius
    axial = local[:, 1].abs() - half_height
    d = torch.stack([radial, axial], dim=-1)
    return d.amax(dim=-1).clamp_max(0.0) + d.clamp_min(0.0).norm(dim=-1)


def half_space(points: Tensor, point_on_plane: Vector, normal: Vector) -> Tensor:
    """Signed distance ``(P,)`` to a plane; negative (inside) on the side ``normal`` points to."""
    n = torch.nn.functional.normalize(_vec(normal, points), dim=0)
    return (points - _vec(point_on_plane, points)) @ n * -1.0


def smooth_union(first: Tensor, second: Tensor, smoothness: float) -> Tensor:
    """Polynomial smooth minimum: blends two surfaces within ``smoothness`` of each other."""
    if smoothness <= 0:
        return torch.minimum(first, second)
    h = (0.5 + 0.5 * (second - first) / smoothness).clamp(0.0, 1.0)
    return torch.lerp(second, first, h) - smoothness * h * (1.0 - h)


def intersection(*distances: Tensor) -> Tensor:
    """Inside all shapes."""
    return torch.stack(distances).amax(dim=0)


def subtraction(shape: Tensor, removed: Tensor) -> Tensor:
    """Inside ``shape`` and outside ``removed``."""
    return torch.maximum(shape, -removed)


def shell(distance: Tensor, thickness: float) -> Tensor:
    """The shape grown outwards by ``thickness`` (a layer such as hair over a head)."""
    return distance - thickness
