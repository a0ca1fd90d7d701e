"""Portraits in: reading image files, and framing around the alpha mask, a detected face or
the central square."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.generation.portrait import (FACE_CENTRE_IN_FRAME, FACE_WIDTH_IN_FRAME,
                                                 detected_face, face_frame, frame_portrait,
                                                 read_portrait)


def astronaut_rgba() -> np.ndarray:
    from skimage import data

    photo = data.astronaut()
    return np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], axis=-1)


def test_the_face_detector_finds_the_astronauts_face() -> None:
    # Eileen Collins' face in scikit-image's 512² photo: eyes near row 115, between columns
    # ~190 and ~260 (checked by eye on the image).
    row, column, width = detected_face(astronaut_rgba()[..., :3])
    assert 95 < row < 140 and 200 < column < 245 and 75 < width < 130
    assert detected_face(np.full((200, 300, 3), 128, np.uint8)) is None


def test_face_frame_puts_the_face_at_its_place_and_share_of_the_frame() -> None:
    # width 50 at a quarter of the frame: side 200; centre (100, 200) at (0.49, 0.5) of it
    assert (FACE_CENTRE_IN_FRAME, FACE_WIDTH_IN_FRAME) == ((0.49, 0.5), 0.25)
    assert face_frame((100.0, 200.0, 50.0)) == (100 - 98, 200 - 100, 200)


def test_a_photograph_is_framed_around_its_face_and_stays_opaque() -> None:
    framed = frame_portrait(astronaut_rgba(), 256)
    assert bool((framed[..., 3] == 1.0).all())  # edges repeated, no transparent border
    row, column, width = detected_face((framed[..., :3].numpy() * 255).astype(np.uint8))
    assert row == pytest.approx(FACE_CENTRE_IN_FRAME[0] * 256, abs=12)
    assert column == pytest.approx(FACE_CENTRE_IN_FRAME[1] * 256, abs=12)
    assert width == pytest.approx(FACE_WIDTH_IN_FRAME * 256, rel=0.25)


def test_an_opaque_photograph_without_a_face_is_cropped_to_its_central_square() -> None:
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
