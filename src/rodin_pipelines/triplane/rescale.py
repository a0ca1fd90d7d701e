"""Resampling tri-planes plane by plane (the one helper every resolution change goes through),
and random scaling (RODIN §2): degrade planes by down- then up-sampling before decoding, so the
decoder learns to tolerate the blurrier tri-planes an upsampler produces."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from rodin_pipelines.triplane.layout import PLANE_COUNT


def resize_planes(planes: Tensor, resolution: int,
                  mode: Literal["area", "bilinear"] = "bilinear") -> Tensor:
    """Each plane of ``(..., C, R, R)`` resized on its own to ``(..., C, r, r)``.

    ``area`` averages texels (to shrink); ``bilinear`` interpolates with
    ``align_corners=False`` as everywhere in the tri-plane code, antialiased when it shrinks.
    A plane is one image, so nothing is read across the border of two planes.
    """
    flat = planes.reshape(-1, *planes.shape[-3:])
    size = (resolution, resolution)
    if mode == "area":
        resized = torch.nn.functional.interpolate(flat, size=size, mode="area")
    else:
        resized = torch.nn.functional.interpolate(flat, size=size, mode="bilinear",
                                                  align_corners=False,
                                                  antialias=resolution < flat.shape[-1])
    return resized.reshape(*planes.shape[:-2], resolution, resolution)


def down_up_sample(planes: Tensor, low_resolution: int) -> Tensor:
    """``(..., 3, C, R, R)`` → same shape, through ``low_resolution`` (area down, bilinear up)."""
    low = resize_planes(planes, low_resolution, "area")
    return resize_planes(low, planes.shape[-1], "bilinear")


def randomly_rescaled(planes: Tensor, probability: float, low_resolution: int,
                      generator: torch.Generator | None = None) -> Tensor:
    """``planes`` degraded with ``probability`` (one draw for the whole batch), else unchanged."""
    if probability <= 0 or low_resolution >= planes.shape[-1]:
        return planes
    draw = torch.rand((), generator=generator).item()
    return down_up_sample(planes, low_resolution) if draw < probability else planes


__all__ = ["PLANE_COUNT", "down_up_sample", "randomly_rescaled", "resize_planes"]
