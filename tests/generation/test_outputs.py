"""One generated avatar's files from its tri-plane: views, turntable, mesh (or why none)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colour_decoder import colour_decoder  # noqa: E402
from rodin_pipelines.diffusion.cascade import SamplingSettings  # noqa: E402
from rodin_pipelines.generation.outputs import realise, result_description  # noqa: E402
from rodin_pipelines.rendering.turntable import azimuth_cameras  # noqa: E402
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings  # noqa: E402

RENDER = VolumeRenderSettings(coarse_samples=16, fine_samples=0)
VIEWS = azimuth_cameras([0.0, 90.0], 2.8, math.radians(40.0), 8)


def test_a_dense_grey_field_renders_grey_and_meshes_as_the_cube() -> None:
    planes = torch.zeros(3, 3, 4, 4)
    avatar = realise(planes, colour_decoder(), VIEWS, 2.8, turntable_frames=3, render=RENDER,
                     mesh_resolution=8, description={"mode": "unconditional"})
    assert avatar.planes is planes
    assert avatar.views.shape == (2, 8, 8, 4) and avatar.turntable.shape == (3, 8, 8, 4)
    # Straight RGBA: sigmoid(0) = 0.5 grey, opaque where the ray crosses the dense cube.
    assert avatar.views[0, 4, 4].tolist() == pytest.approx([0.5, 0.5, 0.5, 1.0], abs=1e-4)
    assert avatar.mesh is not None
    assert avatar.mesh.bounds.flatten().tolist() == pytest.approx([-1, -1, -1, 1, 1, 1], abs=1e-4)
    assert avatar.description == {"mode": "unconditional"}


def test_an_empty_field_has_no_mesh_and_says_why() -> None:
    decoder = colour_decoder()
    with torch.no_grad():
        decoder.net[-1].bias[0] = -100.0  # softplus(-100) ≈ 0: nothing anywhere
    description = {"mode": "text", "prompt": "a hat"}
    avatar = realise(torch.zeros(3, 3, 4, 4), decoder, VIEWS, 2.8, 2, RENDER, 8, description)
    assert avatar.mesh is None
    assert avatar.description["mesh"].startswith("none: the field is empty")
    assert description == {"mode": "text", "prompt": "a hat"}  # the caller's dict is not changed
    assert float(avatar.views[..., 3].max()) == 0.0


def test_a_description_says_what_made_the_result_and_only_what_applies() -> None:
    settings = SamplingSettings(sampler="ddim", base_steps=7, upsampler_steps=3,
                                guidance_scale=1.5)
    generate = {"mode": "text", "seed": 4, "prompt": "a man with a hat", "portrait": "me.png",
                "edit": {"edit_text": "red hair"}}
    assert result_description(generate, "text", 2, settings) == {
        "mode": "text", "source": "text", "index": 2, "seed": 4, "sampler": "ddim",
        "base_steps": 7, "upsampler_steps": 3, "guidance_scale": 1.5,
        "prompt": "a man with a hat", "portrait": None, "edit": None}
    edit = result_description({**generate, "mode": "edit"}, "portrait", 0, settings)
    assert (edit["portrait"], edit["edit"]) == ("me.png", {"edit_text": "red hair"})


def test_an_edit_samples_with_its_own_guidance_and_other_modes_with_generate_s() -> None:
    from rodin_pipelines.generation.generator import mode_sampling

    diffusion = {"sampler": "ddim", "base_steps": 50, "upsampler_steps": 25,
                 "guidance_scale": 1.0}
    generate = {"mode": "text", "sampling": {"guidance_scale": 3.0, "base_steps": 20},
                "edit": {"sampling": {"guidance_scale": 1.5}}}
    text = mode_sampling(diffusion, generate)
    assert (text.guidance_scale, text.base_steps, text.upsampler_steps) == (3.0, 20, 25)
    edit = mode_sampling(diffusion, {**generate, "mode": "edit"})
    assert (edit.guidance_scale, edit.base_steps) == (1.5, 20)
    plain = mode_sampling(diffusion, {**generate, "mode": "edit", "edit": {}})
    assert plain.guidance_scale == 3.0
