"""Random scaling (RODIN §2): degrade planes by down- then up-sampling before decoding, so the
decoder learns to tolerate the blurrier tri-planes an upsampler produces."""

from __future__ import annotations

import torch
from torch import Tensor

from rodin_pipelines.triplane.layout import PLANE_COUNT


def down_up_sample(planes: Tensor, low_resolution: int) -> Tensor:
    """``(..., 3, C, R, R)`` → same shape, through ``low_resolution`` (area down, bilinear up)."""
    shape = planes.shape
    flat = planes.reshape(-1, shape[-3], shape[-2], shape[-1])
    low = torch.nn.functional.interpolate(flat, size=(low_resolution, low_resolution), mode="area")
    back = torch.nn.functional.interpolate(low, size=shape[-2:], mode="bilinear",
                                           align_corners=False)
    return back.reshape(shape)


def randomly_rescaled(planes: Tensor, probability: float, low_resolution: int,
                      generator: torch.Generator | None = None) -> Tensor:
    """``planes`` degraded with ``probability`` (one draw for the whole batch), else unchanged."""
    if probability <= 0 or low_resolution >= planes.shape[-1]:
        return planes
    draw = torch.rand((), generator=generator).item()
    return down_up_sample(planes, low_resolution) if draw < probability else planes


__all__ = ["PLANE_COUNT", "down_up_sample", "randomly_rescaled"]
