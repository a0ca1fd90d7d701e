"""Contact sheets: a grid of images (rows of avatars × columns of views) to look at."""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange
from torch import Tensor

from rodin_pipelines.rendering.compositing import straight_rgba_over

CHECKER_LIGHT = 0.82
CHECKER_DARK = 0.68
"""Grey levels of the checkerboard drawn behind transparent pixels."""


def checkerboard(height: int, width: int, square: int = 8) -> Tensor:
    """A grey checkerboard ``(H, W, 3)`` that makes transparency visible."""
    rows = (torch.arange(height) // square)[:, None]
    columns = (torch.arange(width) // square)[None, :]
    light = ((rows + columns) % 2 == 0).float()
    grey = CHECKER_DARK + (CHECKER_LIGHT - CHECKER_DARK) * light
    return grey[..., None].expand(height, width, 3)


def flatten_rgba(images: Tensor, background: Tensor | None = None) -> Tensor:
    """Straight RGBA ``(..., H, W, 4)`` over ``background`` ``(H, W, 3)`` (a checkerboard)."""
    height, width = images.shape[-3:-1]
    if background is None:
        background = checkerboard(height, width, square=max(height // 8, 1))
    return straight_rgba_over(images, background)


def image_grid(images: Tensor, padding: int = 2, padding_value: float = 1.0) -> np.ndarray:
    """Tile RGB images ``(rows, columns, H, W, 3)`` in [0, 1] into one uint8 picture."""
    padded = torch.nn.functional.pad(
        images.permute(0, 1, 4, 2, 3), (padding, padding, padding, padding), value=padding_value
    )
    grid = rearrange(padded, "r c ch h w -> (r h) (c w) ch")
    return (grid.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def contact_sheet(views_per_avatar: list[Tensor], columns: int, scale: int = 1) -> np.ndarray:
    """One row per avatar of its first ``columns`` views; each entry is ``(V, H, W, 4)`` RGBA.

    ``scale`` enlarges every pixel to a ``scale x scale`` block, so small renders stay legible.
    """
    if not views_per_avatar:
        raise ValueError("no avatars to put on the contact sheet")
    rows = []
    for views in views_per_avatar:
        chosen = views[:columns]
        if chosen.shape[0] < columns:  # fewer views than columns: leave the rest transparent
            filler = torch.zeros(columns - chosen.shape[0], *chosen.shape[1:])
            chosen = torch.cat([chosen, filler])
        rows.append(flatten_rgba(chosen))
    tiles = torch.stack(rows)
    if scale > 1:
        tiles = tiles.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    return image_grid(tiles)


def gallery_rows(rows: dict[str, Tensor], scale: int = 1) -> np.ndarray:
    """One row per entry of ``rows`` (each ``(B, H, W, 4)`` straight RGBA) → uint8 grid picture.

    Rows keep their insertion order (e.g. truth, samples, baseline), avatars run along columns.
    """
    stacked = torch.stack(list(rows.values()))  # (rows, B, H, W, 4)
    flat = flatten_rgba(stacked.flatten(0, 1))  # (rows*B, H, W, 3)
    if scale > 1:
        flat = flat.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    grid = image_grid(flat.reshape(stacked.shape[0], stacked.shape[1], *flat.shape[1:]))
    return grid
