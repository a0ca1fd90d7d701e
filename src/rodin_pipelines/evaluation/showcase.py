"""A few evaluation samples shown as users see generated avatars: views, a turntable, a mesh."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.generation.outputs import GeneratedAvatar, realise
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.turntable import azimuth_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings


def showcase_samples(planes: Tensor, decoder: Any, render: dict[str, Any],
                     evaluate: dict[str, Any], settings: SamplingSettings
                     ) -> dict[str, GeneratedAvatar]:
    """Views, a turntable and a mesh of each of the first evaluation samples."""
    showcase = evaluate["showcase"]
    rig = CameraRig(**render["camera_rig"])
    size = render["views"]["image_size"]
    views = azimuth_cameras(showcase["view_azimuths_degrees"], rig.radius, rig.fov_x, size)
    render_settings = VolumeRenderSettings(**evaluate["render"])
    return {f"sample-{index:02d}": realise(
        plane, decoder, views, rig.radius, showcase["turntable_frames"], render_settings,
        showcase["mesh_resolution"],
        {"mode": "evaluate", "index": index, "seed": evaluate["seed"],
         "sampler": settings.sampler, "base_steps": settings.base_steps,
         "upsampler_steps": settings.upsampler_steps,
         "guidance_scale": settings.guidance_scale})
        for index, plane in enumerate(planes)}
