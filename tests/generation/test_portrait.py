"""Portraits in: reading image files, and geometric framing around the alpha mask or the
central square."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.generation.portrait import frame_portrait, read_portrait


def test_an_opaque_photograph_is_cropped_to_its_central_square() -> None:
    # 100 rows × 60 columns, each pixel's red value its row: the central 60×60 square starts at
    # row (100 - 60) / 2 = 20, and at size 60 no resampling happens.
    rgba = np.full((100, 60, 4), 255, np.uint8)
    rgba[..., 0] = np.arange(100, dtype=np.uint8)[:, None]
    framed = frame_portrait(rgba, 60)
    assert framed.shape == (60, 60, 4) and framed.dtype.is_floating_point
    assert float(framed[0, 0, 0]) == pytest.approx(20 / 255)
    assert float(framed[59, 0, 0]) == pytest.approx(79 / 255)
    assert bool((framed[..., 3] == 1.0).all())


def test_a_cut_out_is_framed_around_its_mask_with_a_margin() -> None:
    # The mask spans rows 10..19 and columns 20..29 (extent 9): the side is int(9 · 1.2) + 1 = 11
    # around the centre (14.5, 24.5), so the crop starts at row int(14.5 - 5.5) = 9 and column 19.
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:20, 20:30] = (200, 100, 50, 255)
    framed = frame_portrait(rgba, 11)
    alpha = framed[..., 3]
    assert alpha.shape == (11, 11)
    assert bool((alpha[1:11, 1:11] == 1.0).all())
    assert float(alpha[0].sum()) == 0.0 and float(alpha[:, 0].sum()) == 0.0
    assert framed[5, 5, :3].tolist() == pytest.approx([200 / 255, 100 / 255, 50 / 255])


def test_a_cut_out_at_the_image_border_is_padded_with_transparency() -> None:
    # Mask at rows/columns 0..9: the 11-texel frame starts at -1, outside the image.
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[:10, :10] = 255
    alpha = frame_portrait(rgba, 11)[..., 3]
    assert float(alpha[0].sum()) == 0.0 and float(alpha[:, 0].sum()) == 0.0
    assert bool((alpha[1:, 1:] == 1.0).all())


def test_framing_resizes_to_the_render_size() -> None:
    rgba = np.full((64, 64, 4), 255, np.uint8)
    assert frame_portrait(rgba, 16).shape == (16, 16, 4)
    with pytest.raises(ValueError, match=r"\(H, W, 4\) RGBA"):
        frame_portrait(rgba[..., :3], 16)


def test_read_portrait_gives_rgba_and_names_bad_files(tmp_path) -> None:
    rgb = np.zeros((5, 7, 3), np.uint8)
    rgb[..., 1] = 9
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    rgba = read_portrait(tmp_path / "photo.png")
    assert rgba.shape == (5, 7, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0].tolist() == [0, 9, 0, 255]  # an opaque alpha is added

    with pytest.raises(InputDataError, match="portrait not found"):
        read_portrait(tmp_path / "missing.png")
    (tmp_path / "broken.png").write_text("not an image")
    with pytest.raises(InputDataError, match="broken.png: corrupt or unreadable image"):
        read_portrait(tmp_path / "broken.png")
