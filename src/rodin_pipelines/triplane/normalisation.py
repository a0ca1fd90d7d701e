"""THE tri-plane normalisation for diffusion: per-channel statistics over the training set.

Diffusion assumes data of roughly unit variance; fitted features are not. The statistics are
computed once over the training avatars' tri-planes (every plane and texel pooled per channel)
and stored beside the decoder; normalise before diffusion, denormalise before decoding.
"""

from __future__ import annotations

import torch
from torch import Tensor

MINIMUM_STD = 1e-6
"""Floor on a channel's std, so a dead channel does not divide by zero."""


def plane_statistics(planes: list[Tensor]) -> dict[str, Tensor]:
    """``{"mean": (C,), "std": (C,), "count": ()}`` over tri-planes ``(3, C, R, R)`` each.

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
    return {"mean": mean.float(), "std": std.float(), "count": torch.tensor(count)}


def normalise_planes(planes: Tensor, statistics: dict[str, Tensor]) -> Tensor:
    """``(..., 3, C, R, R)`` features → zero mean, unit variance per channel."""
    shape = (-1, 1, 1)
    return (planes - statistics["mean"].view(shape)) / statistics["std"].view(shape)


def denormalise_planes(planes: Tensor, statistics: dict[str, Tensor]) -> Tensor:
    """The inverse of :func:`normalise_planes`."""
    shape = (-1, 1, 1)
    return planes * statistics["std"].view(shape) + statistics["mean"].view(shape)
