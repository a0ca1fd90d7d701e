"""THE tri-plane normalisation for diffusion: per-channel statistics over the training set.

Diffusion assumes data of roughly unit variance; fitted features are not. The statistics are
computed once over the training avatars' tri-planes (every plane and texel pooled per channel)
and stored beside the decoder; normalise before diffusion, denormalise before decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

MINIMUM_STD = 1e-6
"""Floor on a channel's std, so a dead channel does not divide by zero."""


@dataclass(frozen=True)
class PlaneStatistics:
    """Per-channel statistics of the training tri-planes.

    Attributes:
        mean: ``(C,)`` float32 mean of each channel over every plane and texel.
        std: ``(C,)`` float32 standard deviation, floored at :data:`MINIMUM_STD`.
        count: how many values each channel pooled (``3 · R² ·`` avatars); ``None`` for
            statistics not computed from planes (set by hand, or rebuilt from buffers).
    """

    mean: Tensor
    std: Tensor
    count: int | None = None

    @property
    def channels(self) -> int:
        return self.mean.numel()

    def to_dict(self) -> dict[str, Tensor]:
        """The tensors of the safetensors file: ``mean`` ``(C,)``, ``std`` ``(C,)`` and, when
        known, ``count`` ``()`` int64."""
        tensors = {"mean": self.mean, "std": self.std}
        if self.count is not None:
            tensors["count"] = torch.tensor(self.count)
        return tensors

    @classmethod
    def from_dict(cls, tensors: Mapping[str, Tensor]) -> PlaneStatistics:
        """The inverse of :meth:`to_dict`."""
        missing = {"mean", "std"} - set(tensors)
        if missing:
            raise ValueError(f"not a plane statistics file: {sorted(missing)} missing; rerun "
                             "`kedro run --pipeline fit`")
        count = int(tensors["count"]) if "count" in tensors else None
        return cls(mean=tensors["mean"], std=tensors["std"], count=count)


def plane_statistics(planes: list[Tensor]) -> PlaneStatistics:
    """Statistics of tri-planes ``(3, C, R, R)`` each, pooled per channel.

    Accumulated in float64 one avatar at a time, so memory does not grow with the set.
    """
    if not planes:
        raise ValueError("no tri-planes to compute statistics from; run the fit stage")
    channels = planes[0].shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    count = 0
    for plane in planes:
        values = plane.double().transpose(0, 1).reshape(channels, -1)  # (C, 3*R*R)
        total += values.sum(dim=1)
        squares += values.pow(2).sum(dim=1)
        count += values.shape[1]
    mean = total / count
    std = (squares / count - mean.pow(2)).clamp_min(0).sqrt().clamp_min(MINIMUM_STD)
    return PlaneStatistics(mean=mean.float(), std=std.float(), count=count)


def normalise_planes(planes: Tensor, statistics: PlaneStatistics) -> Tensor:
    """``(..., 3, C, R, R)`` features → zero mean, unit variance per channel."""
    shape = (-1, 1, 1)
    return (planes - statistics.mean.view(shape)) / statistics.std.view(shape)


def denormalise_planes(planes: Tensor, statistics: PlaneStatistics) -> Tensor:
    """The inverse of :func:`normalise_planes`."""
    shape = (-1, 1, 1)
    return planes * statistics.std.view(shape) + statistics.mean.view(shape)
