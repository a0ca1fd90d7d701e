"""Portrait inversion, refined: after e = CLIP(portrait) → tri-plane, move the planes so that
their frontal render matches the framed portrait (squared error of premultiplied RGBA), anchored
to the sample so the unseen sides stay the model's."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from rodin_pipelines.generation.plane_refinement import RefinementSettings, refine_planes
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField


def premultiplied(rgba: Tensor) -> Tensor:
    """Straight RGBA ``(..., 4)`` → premultiplied RGBA (what the renderer produces)."""
    return torch.cat([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], dim=-1)


def refine_towards_portrait(planes: Tensor, decoder: TriplaneDecoder, frontal: Cameras,
                            portrait: Tensor, render: VolumeRenderSettings, scale: Tensor,
                            settings: RefinementSettings, seed: int = 0) -> Tensor:
    """Tri-planes ``(B, 3, C, R, R)`` whose render from the one ``frontal`` camera moves towards
    the straight RGBA ``portrait`` ``(H, W, 4)`` (the camera's size)."""
    target = premultiplied(portrait)
    render = replace(render, empty_opacity=0.0, jitter=True)

    def objective(changed: Tensor, generator: torch.Generator) -> Tensor:
        loss = changed.new_zeros(())
        for plane in changed:
            colour, opacity = render_cameras(TriplaneField(plane, decoder), frontal, render)
            rendered = torch.cat([colour, opacity[..., None]], dim=-1)[0]
            loss = loss + (rendered - target).pow(2).mean() / len(changed)
        return loss

    return refine_planes(planes, scale, settings, objective, [decoder], seed,
                         "portrait refinement")
