"""One generated avatar's files: tri-plane, multi-view renders, turntable, mesh."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import trimesh
from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.mesh_export import mesh_from_field
from rodin_pipelines.rendering.turntable import turntable_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField


@dataclass
class GeneratedAvatar:
    """A result: ``planes`` ``(3, C, R, R)``, ``views`` ``(V, H, W, 4)`` and ``turntable``
    ``(F, H, W, 4)`` straight RGBA, a vertex-coloured ``mesh`` (``None`` when the field has no
    surface, which the description then says), what made it and, for generated results, the
    ``latent`` ``(D,)`` it was sampled from (kept in memory only: the demo edits its own results
    from it)."""

    planes: Tensor
    views: Tensor
    turntable: Tensor
    mesh: trimesh.Trimesh | None
    description: dict[str, Any] = field(default_factory=dict)
    latent: Tensor | None = None


def realise(planes: Tensor, decoder: TriplaneDecoder, views: Cameras, radius: float,
            turntable_frames: int, render: VolumeRenderSettings, mesh_resolution: int,
            description: dict[str, Any]) -> GeneratedAvatar:
    """Renders, a turntable and a mesh of one tri-plane ``(3, C, R, R)``."""
    orbit = turntable_cameras(turntable_frames, radius, views.fov_x, views.width)
    try:
        mesh = mesh_from_field(TriplaneField(planes, decoder), resolution=mesh_resolution)
    except ValueError as empty:  # an undertrained model can sample an empty field
        mesh, description = None, {**description, "mesh": f"none: {empty}"}
    return GeneratedAvatar(
        planes=planes,
        views=render_triplanes(planes[None], decoder, views, render)[0],
        turntable=render_triplanes(planes[None], decoder, orbit, render)[0],
        mesh=mesh,
        description=description,
    )


def result_description(generate: dict[str, Any], source: str, index: int,
                       settings: SamplingSettings) -> dict[str, Any]:
    """What made result ``index`` of a ``generate`` run (written beside its files): the mode and
    where its latent came from, the seed, the sampler, and the prompt, portrait or edit."""
    mode = generate["mode"]
    return {"mode": mode, "source": source, "index": index, "seed": generate["seed"],
            "sampler": settings.sampler, "base_steps": settings.base_steps,
            "upsampler_steps": settings.upsampler_steps,
            "guidance_scale": settings.guidance_scale, "prompt": generate.get("prompt"),
            "portrait": generate.get("portrait") if source == "portrait" else None,
            "edit": generate["edit"] if mode == "edit" else None}
