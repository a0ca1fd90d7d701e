"""Portraits in: an image file (or array) framed like the render stage's frontal view.

Without a face detector (none ships offline), framing is geometric: a straight-RGBA portrait is
cropped to the square around its alpha mask; an opaque photograph to its central square (a
head-and-shoulders photo, as ``skimage.data.astronaut``). Either is resized to the render size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from rodin_pipelines.avatars.image_files import read_rgba_pixels
from rodin_pipelines.errors import InputDataError

ALPHA_MARGIN = 0.1
"""Margin around the alpha mask's bounding box, as a share of its side."""


def read_portrait(path: str | Path) -> np.ndarray:
    """An image file → ``(H, W, 4)`` uint8 RGBA; unreadable files are named in the error."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "portrait not found", "give the path of a PNG or JPEG image")
    return read_rgba_pixels(path, "give a PNG or JPEG portrait")[0]


def frame_portrait(rgba: np.ndarray, size: int) -> Tensor:
    """``(H, W, 4)`` uint8 RGBA → straight RGBA ``(size, size, 4)`` float in [0, 1], framed."""
    if rgba.ndim != 3 or rgba.shape[-1] != 4:
        raise ValueError(f"a portrait is (H, W, 4) RGBA, got {rgba.shape}")
    height, width = rgba.shape[:2]
    alpha = rgba[..., 3] > 0
    if alpha.all() or not alpha.any():
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
    else:
        rows, columns = np.nonzero(alpha)
        side = int(max(np.ptp(rows), np.ptp(columns)) * (1 + 2 * ALPHA_MARGIN)) + 1
        side = min(side, max(height, width))
        top = int((rows.min() + rows.max()) / 2 - side / 2)
        left = int((columns.min() + columns.max()) / 2 - side / 2)
    padded = np.zeros((height + 2 * side, width + 2 * side, 4), dtype=np.uint8)
    padded[side:side + height, side:side + width] = rgba
    crop = padded[top + side:top + 2 * side, left + side:left + 2 * side]
    resized = Image.fromarray(crop).resize((size, size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(resized).astype(np.float32) / 255.0)
