"""Portrait and text-guided refinement with a hand-set decoder (colour = sigmoid of the
features) and a table CLIP (an image's embedding is its mean colour)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colour_decoder import colour_decoder  # noqa: E402
from fake_clip import table_clip  # noqa: E402
from rodin_pipelines.generation.plane_refinement import RefinementSettings  # noqa: E402
from rodin_pipelines.generation.portrait_refinement import (  # noqa: E402
    premultiplied,
    refine_towards_portrait,
)
from rodin_pipelines.generation.text_guided_refinement import (  # noqa: E402
    image_embeddings,
    random_front_cameras,
    refine_towards_text,
)
from rodin_pipelines.rendering.camera_rig import CameraRig  # noqa: E402
from rodin_pipelines.rendering.cameras import azimuth_from_face  # noqa: E402
from rodin_pipelines.rendering.turntable import azimuth_cameras  # noqa: E402
from rodin_pipelines.rendering.volume_renderer import (  # noqa: E402
    VolumeRenderSettings,
    render_cameras,
)
from rodin_pipelines.triplane.field import TriplaneField  # noqa: E402

RENDER = VolumeRenderSettings(coarse_samples=8, fine_samples=0)
RIG = CameraRig()
SCALE = torch.ones(3)


def test_premultiplied_scales_colour_by_alpha() -> None:
    rgba = torch.tensor([[0.5, 1.0, 0.2, 0.5], [1.0, 1.0, 1.0, 0.0]])
    assert premultiplied(rgba)[0].tolist() == pytest.approx([0.25, 0.5, 0.1, 0.5])
    assert premultiplied(rgba)[1].tolist() == [0.0, 0.0, 0.0, 0.0]


def frontal_colour(planes: torch.Tensor, decoder, cameras) -> torch.Tensor:
    """Mean premultiplied colour ``(3,)`` of the centre 4×4 pixels of the first camera."""
    with torch.no_grad():
        colour, _ = render_cameras(TriplaneField(planes, decoder), cameras, RENDER)
    return colour[0, 2:6, 2:6].mean(dim=(0, 1))


@pytest.mark.parametrize("opaque", [True, False])
def test_portrait_refinement_moves_the_frontal_render_towards_the_portrait(opaque) -> None:
    decoder = colour_decoder()
    front = azimuth_cameras([0.0], RIG.radius, RIG.fov_x, 8)
    planes = torch.zeros(1, 3, 3, 4, 4)  # grey: sigmoid(0) = 0.5 in every channel
    portrait = torch.zeros(8, 8, 4)
    portrait[..., 0], portrait[..., 3] = 1.0, 1.0 if opaque else 0.999  # red
    # No anchor: this checks the direction of the render objective, not its balance.
    settings = RefinementSettings(steps=10, learning_rate=0.1, anchor_weight=0.0,
                                  offset_resolution=2)
    refined = refine_towards_portrait(planes, decoder, front, portrait, RENDER, SCALE, settings)
    before, after = frontal_colour(planes[0], decoder, front), frontal_colour(refined[0], decoder,
                                                                              front)
    assert before.tolist() == pytest.approx([0.5, 0.5, 0.5], abs=1e-3)
    assert float(after[0]) > 0.6 and float(after[1]) < 0.4 and float(after[2]) < 0.4
    assert all(p.requires_grad for p in decoder.parameters())  # restored after refinement


def test_random_front_cameras_stay_in_front_and_low() -> None:
    generator = torch.Generator().manual_seed(0)
    cameras = random_front_cameras(RIG, 200, 16, 30.0, generator)
    assert cameras.camera_to_world.shape == (200, 4, 4) and cameras.width == 16
    eye = cameras.camera_to_world[:, :3, 3]
    assert torch.allclose(eye.norm(dim=-1), torch.full((200,), RIG.radius))
    azimuth = azimuth_from_face(cameras.camera_to_world)
    assert float(azimuth.abs().max()) <= 30.0 and float(azimuth.abs().max()) > 25.0
    elevation = torch.rad2deg(torch.asin(eye[:, 1] / RIG.radius))
    # The lower half of the rig's range: [-20°, (-20° + 55°) / 2 = 17.5°].
    assert float(elevation.min()) >= -20.0 - 1e-3 and float(elevation.max()) <= 17.5 + 1e-3
    assert float(elevation.max()) > 12.0


def test_image_embeddings_are_unit_and_differentiable() -> None:
    clip = table_clip({"x": [1.0, 0.0, 0.0]})
    colour = torch.full((2, 8, 8, 3), 0.5, requires_grad=True)
    embeddings = image_embeddings(clip, colour, torch.ones(2, 8, 8))
    assert embeddings.shape == (2, 3)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(2))
    embeddings[:, 0].sum().backward()
    assert colour.grad is not None and float(colour.grad.abs().sum()) > 0


def test_text_refinement_moves_renders_from_the_source_text_to_the_edit_text() -> None:
    # Table CLIP: an image embeds as its normalised mean (CLIP-normalised) colour; "red" and
    # "green" point along the red and green axes, so the edit makes the render redder.
    clip = table_clip({"red": [1.0, 0.0, 0.0], "green": [0.0, 1.0, 0.0]})
    decoder = colour_decoder()
    planes = torch.zeros(1, 3, 3, 4, 4)
    settings = RefinementSettings(steps=8, learning_rate=0.1, offset_resolution=2,
                                  views_per_step=1, image_size=8)
    refined = refine_towards_text(planes, decoder, clip, RIG, RENDER, "green", "red", SCALE,
                                  settings)
    front = azimuth_cameras([0.0], RIG.radius, math.radians(RIG.fov_x_degrees), 8)
    after = frontal_colour(refined[0], decoder, front)
    assert float(after[0]) > 0.55 and float(after[1]) < 0.45
    assert all(p.requires_grad for p in clip.model.parameters())
