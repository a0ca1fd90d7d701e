"""Portrait inversion, refined: after e = CLIP(portrait) → tri-plane, move the planes so that
their frontal render matches the framed portrait, anchored to the sample so the unseen sides stay
the model's.

A portrait with transparency (a render, a cut-out) is matched as premultiplied RGBA: silhouette
and colours. An opaque photograph has no silhouette to match (its background would become a
billboard in front of the head), so colours are matched inside the render's silhouette and the
silhouette itself is held to the sample's: the sample keeps its shape and takes the photograph's
colours where it covers the frame."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from rodin_pipelines.generation.plane_refinement import RefinementSettings, refine_planes
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField


OPAQUE = 0.99
"""A portrait whose every pixel has at least this alpha is a photograph without a silhouette."""


def premultiplied(rgba: Tensor) -> Tensor:
    """Straight RGBA ``(..., 4)`` → premultiplied RGBA (what the renderer produces)."""
    return torch.cat([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], dim=-1)


def refine_towards_portrait(planes: Tensor, decoder: TriplaneDecoder, frontal: Cameras,
                            portrait: Tensor, render: VolumeRenderSettings, scale: Tensor,
                            settings: RefinementSettings, seed: int = 0) -> Tensor:
    """Tri-planes ``(B, 3, C, R, R)`` whose render from the one ``frontal`` camera moves towards
    the straight RGBA ``portrait`` ``(H, W, 4)`` (the camera's size)."""
    target = premultiplied(portrait)
    opaque = bool(portrait[..., 3].min() > OPAQUE)
    render = replace(render, empty_opacity=0.0, jitter=True)
    with torch.no_grad():
        silhouettes = [render_cameras(TriplaneField(plane, decoder), frontal, render)[1][0]
                       for plane in planes]

    def objective(changed: Tensor, generator: torch.Generator) -> Tensor:
        loss = changed.new_zeros(())
        for plane, silhouette in zip(changed, silhouettes):
            colour, opacity = render_cameras(TriplaneField(plane, decoder), frontal, render)
            colour, opacity = colour[0], opacity[0]
            if opaque:  # colours inside the render's silhouette; the silhouette stays
                error = torch.cat([colour - portrait[..., :3] * opacity.detach()[..., None],
                                   (opacity - silhouette)[..., None]], dim=-1)
            else:
                error = torch.cat([colour, opacity[..., None]], dim=-1) - target
            loss = loss + error.pow(2).mean() / len(changed)
        return loss

    return refine_planes(planes, scale, settings, objective, [decoder], seed,
                         "portrait refinement")
