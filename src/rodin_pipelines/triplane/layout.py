"""THE tri-plane layout (architecture §3): plane order, axes, roll-out and roll-in.

A tri-plane is ``(3, C, R, R)``: planes XY, XZ, YZ in that order. A point (x, y, z) reads plane
XY at (x, y), XZ at (x, z) and YZ at (y, z); the first coordinate runs along the plane's width
(its last tensor axis), the second along its height. The roll-out puts the three planes side by
side along the width, ``(C, R, 3R)``, in the same order, which is what the 2D diffusion U-Net sees.
"""

from __future__ import annotations

from einops import rearrange
from torch import Tensor

PLANE_NAMES = ("xy", "xz", "yz")
"""Plane order along the tri-plane's first axis."""

PLANE_AXES = ((0, 1), (0, 2), (1, 2))
"""For each plane, the world axes (width axis, height axis) it spans."""

PLANE_COUNT = 3


def roll_out(planes: Tensor) -> Tensor:
    """``(..., 3, C, R, R)`` → ``(..., C, R, 3R)``: planes side by side along the width."""
    return rearrange(planes, "... p c h w -> ... c h (p w)", p=PLANE_COUNT)


def roll_in(rolled: Tensor) -> Tensor:
    """``(..., C, R, 3R)`` → ``(..., 3, C, R, R)``: the exact inverse of :func:`roll_out`."""
    if rolled.shape[-1] != PLANE_COUNT * rolled.shape[-2]:
        raise ValueError(f"a rolled-out tri-plane is (C, R, 3R), got {tuple(rolled.shape)}")
    return rearrange(rolled, "... c h (p w) -> ... p c h w", p=PLANE_COUNT)


def check_triplane_shape(planes: Tensor, channels: int | None = None,
                         resolution: int | None = None) -> None:
    """Raise a ``ValueError`` naming the expected shape unless ``planes`` is ``(…, 3, C, R, R)``."""
    shape = tuple(planes.shape)
    ok = len(shape) >= 4 and shape[-4] == PLANE_COUNT and shape[-1] == shape[-2]
    ok = ok and (channels is None or shape[-3] == channels)
    ok = ok and (resolution is None or shape[-1] == resolution)
    if not ok:
        expected = f"(3, {channels or 'C'}, {resolution or 'R'}, {resolution or 'R'})"
        raise ValueError(f"tri-plane must be {expected} (planes XY, XZ, YZ), got {shape}")
