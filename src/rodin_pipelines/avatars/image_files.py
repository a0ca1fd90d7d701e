"""Reading an image file someone handed us (an import's views, a portrait), within a size limit.

A PNG header can declare 30000 x 30000 pixels in a few hundred bytes; decoding it would take
gigabytes. The size is checked from the header before any pixel is decoded, and the refusal
names the file and the limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rodin_pipelines.errors import InputDataError

MAX_SIDE = 8192
MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE
"""The most pixels an input image may have (below Pillow's own decompression-bomb limit, so
ours is the one a user meets)."""


def read_rgba_pixels(path: Path, fix: str) -> tuple[np.ndarray, str]:
    """``(H, W, 4)`` uint8 RGBA pixels of the image at ``path`` and its original mode.

    Raises:
        InputDataError: the image is larger than :data:`MAX_IMAGE_PIXELS`, or unreadable
            (``fix`` says what to do about the latter).
    """
    too_large = (f"resize it to at most {MAX_IMAGE_PIXELS:,} pixels "
                 f"({MAX_SIDE} x {MAX_SIDE}); larger images are not read")
    try:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise InputDataError(path, f"image declares {width} x {height} pixels", too_large)
            image.load()
            return np.asarray(image.convert("RGBA")), image.mode
    except Image.DecompressionBombError as error:  # Pillow refused it first, in Image.open
        raise InputDataError(path, f"image declares too many pixels ({error})",
                             too_large) from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise InputDataError(path, f"corrupt or unreadable image ({error})", fix) from error
