"""Text-guided refinement of a tri-plane: after the latent edit, move the planes so that their
renders go from the source text towards the edit text in CLIP space.

Editing the latent e alone changes what the diffusion model is asked for; how much of the edit
reaches the sample depends on how strongly the model follows e. This step makes the edit visible
in the result itself, StyleGAN-NADA style: renders from random views around the front are embedded
by the frozen CLIP and the planes follow the gradient of

    -mean(cos(image, t_edit) - cos(image, t_source))

plus the anchor of :func:`refine_planes`, which keeps the avatar's shape and identity while the
text term changes what the two texts tell apart (hair colour, glasses...).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

from rodin_pipelines.generation.plane_refinement import RefinementSettings, refine_planes
from rodin_pipelines.generation.region_hold import field_change, held_points
from rodin_pipelines.models.clip_embeddings import EMBEDDING_BACKGROUND, embed_texts, embed_views
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.cameras import Cameras, orbit_camera_to_world
from rodin_pipelines.rendering.compositing import over_background
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.models.clip_preprocessing import clip_image_transform
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField

def image_embeddings(clip: LoadedClip, colour: Tensor, opacity: Tensor) -> Tensor:
    """Differentiable unit CLIP image embeddings ``(V, D)`` of premultiplied renders: colour
    ``(V, H, W, 3)``, opacity ``(V, H, W)``, over the background ``embed_views`` uses."""
    rgb = over_background(colour, opacity, torch.tensor(EMBEDDING_BACKGROUND, dtype=colour.dtype))
    transform = clip_image_transform(clip.image_size, augmentation=None)
    return clip.model.encode_image(transform(rgb.permute(0, 3, 1, 2)), normalize=True)


def random_front_cameras(rig: CameraRig, count: int, image_size: int, azimuth_degrees: float,
                         generator: torch.Generator) -> Cameras:
    """``count`` cameras at the rig's radius, azimuth within ± ``azimuth_degrees``, elevation in
    the lower half of the rig's range (faces, not crowns)."""
    azimuth = (2 * torch.rand(count, generator=generator) - 1) * math.radians(azimuth_degrees)
    low, high = math.radians(rig.min_elevation_degrees), math.radians(rig.max_elevation_degrees)
    elevation = low + (high - low) * 0.5 * torch.rand(count, generator=generator)
    return Cameras(orbit_camera_to_world(azimuth, elevation, rig.radius), rig.fov_x,
                   image_size, image_size)


def refine_towards_text(planes: Tensor, decoder: TriplaneDecoder, clip: LoadedClip,
                        rig: CameraRig, render: VolumeRenderSettings, source_text: str,
                        edit_text: str, scale: Tensor, settings: RefinementSettings,
                        seed: int = 0) -> Tensor:
    """Tri-planes ``(B, 3, C, R, R)`` refined from ``source_text`` towards ``edit_text``;
    ``scale`` ``(C,)`` is the fitted planes' per-channel standard deviation."""
    texts = embed_texts(clip, [edit_text, source_text])  # (2, D)
    render = replace(render, empty_opacity=0.0, jitter=True)  # every ray keeps its gradient

    def objective(changed: Tensor, generator: torch.Generator) -> Tensor:
        cameras = random_front_cameras(rig, settings.views_per_step, settings.image_size,
                                       settings.azimuth_degrees, generator)
        loss = changed.new_zeros(())
        for plane in changed:
            colour, opacity = render_cameras(TriplaneField(plane, decoder), cameras, render)
            cosines = image_embeddings(clip, colour, opacity) @ texts.T  # (V, 2)
            loss = loss - (cosines[:, 0] - cosines[:, 1]).mean() / len(changed)
        points = held_points(settings.hold_points, settings.hold_below_height,
                             settings.hold_boxes, generator)
        if points is not None:
            for plane, before in zip(changed, planes):
                loss = loss + settings.hold_weight * field_change(plane, before, decoder,
                                                                  points) / len(changed)
        return loss

    return refine_planes(planes, scale, settings, objective, [decoder, clip.model], seed,
                         "text-guided refinement")


@torch.no_grad()
def frontal_text_cosine(clip: LoadedClip, views: Tensor, text: str) -> float:
    """How well a result matches ``text``: the CLIP cosine of its first (frontal) view of the
    straight-RGBA ``views`` ``(V, H, W, 4)`` and the text."""
    return float(embed_views(clip, views[:1]) @ embed_texts(clip, [text]).T)
