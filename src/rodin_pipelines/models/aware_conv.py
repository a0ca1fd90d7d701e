"""3D-aware convolution on the rolled-out tri-plane (method §3, architecture §3).

A texel of plane XY at (x, y) stands for the whole line of points (x, y, ·) along z. The features
that bear on that line in the other planes are plane XZ's column at x (all z) and plane YZ's
column at y (all z). 3D-aware convolution hands them to XY: each other plane is **mean-pooled
along the axis it does not share** with the target plane, which leaves a vector along the shared
axis, and that vector is broadcast back over the target plane along the target's own tensor axis
for that world axis. The target's features and the two broadcasts are concatenated (3C channels)
and a **separate 3×3 convolution per plane** maps them to the output, each plane zero-padded on
its own.

The six (target, source) cases, derived in :func:`shared_axis_reads` from ``PLANE_AXES`` (a plane
spans (width axis, height axis); width is the last tensor dim, height the one before):

=======  =======  ======  ==================================  ==============================
target   source   shared  pool the source over                broadcast along the target's
=======  =======  ======  ==================================  ==============================
XY       XZ       x       its height (z) → vector over x      width (x), constant over y
XY       YZ       y       its height (z) → vector over y      height (y), constant over x
XZ       XY       x       its height (y) → vector over x      width (x), constant over z
XZ       YZ       z       its width (y) → vector over z       height (z), constant over x
YZ       XY       y       its width (x) → vector over y       width (y), constant over z
YZ       XZ       z       its width (x) → vector over z       height (z), constant over y
=======  =======  ======  ==================================  ==============================

So a change to a source plane reaches a target texel only through the source's mean along the
unshared axis at the target texel's shared coordinate (± the kernel's reach of 1 texel).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import torch
from einops import reduce, repeat
from torch import Tensor, nn

from rodin_pipelines.models.plane_ops import zero_module
from rodin_pipelines.triplane.layout import PLANE_AXES, PLANE_COUNT, roll_in, roll_out


class PlaneDim(enum.IntEnum):
    """A plane's tensor dimensions in ``(…, C, R, R)``: which world axis runs where."""

    HEIGHT = -2
    WIDTH = -1


@dataclass(frozen=True)
class SharedAxisRead:
    """How a target plane reads one other (source) plane in 3D-aware convolution.

    Attributes:
        target: index of the plane being convolved (into ``PLANE_AXES``).
        source: index of the other plane whose features are pooled.
        world_axis: the world axis (0 x, 1 y, 2 z) the two planes share.
        source_dim: the source's tensor dim running along the shared axis (kept by the pooling;
            the source is averaged over its other dim).
        target_dim: the target's tensor dim running along the shared axis (the pooled vector
            varies along it and is constant along the target's other dim).
    """

    target: int
    source: int
    world_axis: int
    source_dim: PlaneDim
    target_dim: PlaneDim


def _dim_of_axis(plane: int, world_axis: int) -> PlaneDim:
    """The tensor dim along which ``world_axis`` runs in ``plane`` (width first in PLANE_AXES)."""
    width_axis, height_axis = PLANE_AXES[plane]
    return {width_axis: PlaneDim.WIDTH, height_axis: PlaneDim.HEIGHT}[world_axis]


def shared_axis_reads() -> tuple[SharedAxisRead, ...]:
    """For every target plane, its two reads of the other planes, in plane order.

    Derived from ``PLANE_AXES`` so the convention lives in one place: any two distinct axis-aligned
    planes share exactly one world axis.
    """
    reads = []
    for target in range(PLANE_COUNT):
        for source in range(PLANE_COUNT):
            if source == target:
                continue
            (shared,) = set(PLANE_AXES[target]) & set(PLANE_AXES[source])
            reads.append(SharedAxisRead(target, source, shared, _dim_of_axis(source, shared),
                                        _dim_of_axis(target, shared)))
    return tuple(reads)


_SHARED_AXIS_READS = shared_axis_reads()

# einops patterns, `s` being the shared axis: pool away the other dim of the source...
_POOL_TO_SHARED = {PlaneDim.WIDTH: "b c h s -> b c s", PlaneDim.HEIGHT: "b c s w -> b c s"}
# ...and lay the vector along the target's dim for that axis, constant along its other dim.
# `r` is the target's other dim, along which the contribution is constant.
_BROADCAST_FROM_SHARED = {PlaneDim.WIDTH: "b c s -> b c r s", PlaneDim.HEIGHT: "b c s -> b c s r"}


def features_from_shared_axis(source: Tensor, read: SharedAxisRead) -> Tensor:
    """Source plane ``(B, C, R, R)`` → its contribution to the target plane ``(B, C, R, R)``.

    The source averaged over the axis it does not share with the target, broadcast over the
    target (``read`` says which dims).
    """
    vector = reduce(source, _POOL_TO_SHARED[read.source_dim], "mean")
    return repeat(vector, _BROADCAST_FROM_SHARED[read.target_dim], r=source.shape[-1])


def aware_features(planes: Tensor) -> Tensor:
    """Tri-plane features ``(B, 3, C, R, R)`` → 3D-aware inputs ``(B, 3, 3C, R, R)``.

    For each plane: its own C channels, then the contributions of the other two planes in plane
    order (for XY: own, from XZ, from YZ; for XZ: own, from XY, from YZ; for YZ: own, from XY,
    from XZ).
    """
    per_target = []
    for target in range(PLANE_COUNT):
        parts = [planes[:, target]]
        parts += [features_from_shared_axis(planes[:, read.source], read)
                  for read in _SHARED_AXIS_READS if read.target == target]
        per_target.append(torch.cat(parts, dim=1))
    return torch.stack(per_target, dim=1)


class AwareConv2d(nn.Module):
    """3D-aware convolution on a rolled-out map: ``(B, C_in, R, 3R)`` → ``(B, C_out, R, 3R)``.

    Args:
        in_channels: C_in, channels of each plane.
        out_channels: C_out.
        kernel_size: odd size of each plane's square kernel (3 in Rodin).
        zero_init: start every plane's conv at zero, as RodinHD's code does (it replaces the
            last conv of a residual branch, which guided-diffusion zero-initialises too).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 zero_init: bool = True) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep the resolution, got {kernel_size}")
        # One conv per plane (ordered as PLANE_NAMES): the three planes see the avatar from three
        # sides, and their concatenated inputs mean different things, so no weights are shared.
        self.convs = nn.ModuleList(
            nn.Conv2d(PLANE_COUNT * in_channels, out_channels, kernel_size,
                      padding=kernel_size // 2)
            for _ in range(PLANE_COUNT))
        if zero_init:
            zero_module(self.convs)

    def forward(self, rolled: Tensor) -> Tensor:
        features = aware_features(roll_in(rolled))
        # Each conv sees one plane (B, 3C, R, R) and pads it with its own zeros: no border mixing.
        out = [conv(features[:, plane]) for plane, conv in enumerate(self.convs)]
        return roll_out(torch.stack(out, dim=1))


__all__ = [
    "AwareConv2d", "PlaneDim", "SharedAxisRead", "aware_features", "features_from_shared_axis",
    "shared_axis_reads",
]
