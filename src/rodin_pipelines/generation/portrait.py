"""Portraits in: an image file (or array) framed like the render stage's frontal view.

A straight-RGBA portrait (a render, a cut-out) is cropped to the square around its alpha mask.
An opaque photograph is framed around the largest frontal face scikit-image's LBP cascade finds
(the OpenCV cascade file ships inside scikit-image: nothing is downloaded): the face's centre
lands where the avatars' faces sit in the frontal view, at a set share of the frame. Without a
face it falls back to the central square (a head-and-shoulders photo). Either is resized to the
render size.
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

FACE_CENTRE_IN_FRAME = (0.49, 0.5)
"""(row, column) of a detected face's centre, as shares of the framed square: where the
avatars' faces are in the frontal view (the box between the eyes and the mouth, at the head
centre's height of 0.12 world units less ~0.1, seen from 2.8 units at a 40° field of view)."""

FACE_WIDTH_IN_FRAME = 0.25
"""Width of the detected face box as a share of the framed square. The avatars' faces span
~0.4 of the frontal view, but a person's shoulders sit further below the face than an avatar's:
framed at 0.4 the frame ends at the collar, at 0.25 the clothes fill the avatar's shoulders
(the astronaut's orange suit, where 0.4 and the central square gave a dark body)."""

DETECTION_SIDE = 512
"""Photographs are searched for faces at most this many pixels on their longer side (speed)."""


def detected_face(rgb: np.ndarray) -> tuple[float, float, float] | None:
    """``(centre row, centre column, width)`` in pixels of the largest frontal face in an
    ``(H, W, 3)`` uint8 photo, or ``None`` where the cascade finds none."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.feature import Cascade

    shrink = max(rgb.shape[:2]) / DETECTION_SIDE
    image = rgb
    if shrink > 1:
        size = (round(rgb.shape[1] / shrink), round(rgb.shape[0] / shrink))
        image = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
    else:
        shrink = 1.0
    smallest = max(24, min(image.shape[:2]) // 10)
    cascade = Cascade(data.lbp_frontal_face_cascade_filename())
    faces = cascade.detect_multi_scale(img=rgb2gray(image), scale_factor=1.2, step_ratio=1,
                                       min_size=(smallest, smallest),
                                       max_size=image.shape[:2])
    if not faces:
        return None
    face = max(faces, key=lambda f: f["width"] * f["height"])
    return ((face["r"] + face["height"] / 2) * shrink, (face["c"] + face["width"] / 2) * shrink,
            face["width"] * shrink)


def face_frame(face: tuple[float, float, float]) -> tuple[int, int, int]:
    """``(top, left, side)`` of the square that puts ``face`` (centre row, centre column, width)
    at :data:`FACE_CENTRE_IN_FRAME`, :data:`FACE_WIDTH_IN_FRAME` of its side wide."""
    row, column, width = face
    side = int(round(width / FACE_WIDTH_IN_FRAME))
    return (int(round(row - FACE_CENTRE_IN_FRAME[0] * side)),
            int(round(column - FACE_CENTRE_IN_FRAME[1] * side)), side)


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
        face = detected_face(np.ascontiguousarray(rgba[..., :3])) if alpha.all() else None
        if face is not None:  # opaque: the edges repeat, so the frame stays a photograph
            top, left, side = face_frame(face)
            padded = np.pad(rgba, ((side, side), (side, side), (0, 0)), mode="edge")
            crop = padded[top + side:top + 2 * side, left + side:left + 2 * side]
            return _resized(crop, size)
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
    return _resized(crop, size)


def _resized(crop: np.ndarray, size: int) -> Tensor:
    resized = Image.fromarray(crop).resize((size, size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(resized).astype(np.float32) / 255.0)
