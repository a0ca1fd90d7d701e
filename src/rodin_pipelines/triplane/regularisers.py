"""Regularisers that keep tri-planes smooth and bounded, hence diffusable (RODIN §2; RodinHD
weights TV 1e-2 and L2 1e-4)."""

from __future__ import annotations

from torch import Tensor


def total_variation(planes: Tensor) -> Tensor:
    """Mean squared difference of neighbouring texels of ``(..., C, R, R)`` planes."""
    rows = (planes[..., 1:, :] - planes[..., :-1, :]).pow(2).mean()
    columns = (planes[..., :, 1:] - planes[..., :, :-1]).pow(2).mean()
    return rows + columns


def l2_magnitude(planes: Tensor) -> Tensor:
    """Mean squared feature value."""
    return planes.pow(2).mean()
