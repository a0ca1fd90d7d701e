"""Text-guided refinement of a tri-plane: after the latent edit, optimise the planes so that their
renders move from the source text towards the edit text in CLIP space.

Editing the latent e alone changes what the diffusion model is asked for; how much of the edit
reaches the sample depends on how strongly the model follows e. This step makes the edit visible
in the result itself, StyleGAN-NADA style: renders of the planes from views around the front are
embedded by the (frozen) CLIP, and the planes follow the gradient of

    loss = -mean(cos(image, t_edit) - cos(image, t_source)) + anchor · mean(((P - P0) / σ)²)

where ``σ`` is the per-channel scale of fitted tri-planes, so the anchor keeps the avatar's shape
and identity while the text term changes what the texts tell apart (hair colour, glasses...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor
from tqdm.auto import tqdm

from rodin_pipelines.models.clip_embeddings import EMBEDDING_BACKGROUND, embed_texts
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.cameras import Cameras, orbit_camera_to_world
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.training.clip_data import clip_image_transform
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField


@dataclass(frozen=True)
class RefinementSettings:
    """How the planes are refined (``steps: 0`` switches it off).

    Attributes:
        steps: Adam steps per avatar.
        learning_rate: Adam's step size, in units of the planes' per-channel scale.
        anchor_weight: weight of the squared distance to the sampled planes.
        views_per_step: random views rendered per step.
        azimuth_degrees: views are drawn with azimuth within ± this of the face.
        image_size: side of the rendered views (CLIP resizes them to its input).
        offset_resolution: the change is optimised on a coarse grid of this side per plane and
            upsampled bilinearly: smooth changes of colour and shape rather than the
            pixel-level patterns that fool CLIP (adversarial textures).
    """

    steps: int = 0
    learning_rate: float = 0.05
    anchor_weight: float = 1.0
    views_per_step: int = 2
    azimuth_degrees: float = 45.0
    image_size: int = 64
    offset_resolution: int = 8


def image_embeddings(clip: LoadedClip, colour: Tensor, opacity: Tensor) -> Tensor:
    """Differentiable unit CLIP image embeddings ``(V, D)`` of premultiplied renders: colour
    ``(V, H, W, 3)``, opacity ``(V, H, W)`` over the embedding background, as ``embed_views``."""
    background = torch.tensor(EMBEDDING_BACKGROUND, dtype=colour.dtype)
    rgb = colour + (1.0 - opacity[..., None]) * background
    transform = clip_image_transform(clip.image_size, augmentation=None)
    return clip.model.encode_image(transform(rgb.permute(0, 3, 1, 2)), normalize=True)


def random_front_cameras(rig: CameraRig, count: int, image_size: int, azimuth_degrees: float,
                         generator: torch.Generator) -> Cameras:
    """``count`` cameras at the rig's radius, azimuth within ± ``azimuth_degrees``, elevation
    within the rig's range."""
    azimuth = (2 * torch.rand(count, generator=generator) - 1) * math.radians(azimuth_degrees)
    low, high = math.radians(rig.min_elevation_degrees), math.radians(rig.max_elevation_degrees)
    elevation = low + (high - low) * 0.5 * torch.rand(count, generator=generator)
    return Cameras(orbit_camera_to_world(azimuth, elevation, rig.radius), rig.fov_x,
                   image_size, image_size)


def text_alignment(clip: LoadedClip, planes: Tensor, decoder: TriplaneDecoder, cameras: Cameras,
                   render: VolumeRenderSettings, texts: Tensor) -> Tensor:
    """Cosines ``(V, T)`` between renders of one tri-plane ``(3, C, R, R)`` from ``cameras`` and
    unit text embeddings ``(T, D)``."""
    colour, opacity = render_cameras(TriplaneField(planes, decoder), cameras, render)
    return image_embeddings(clip, colour, opacity) @ texts.T


def refine_towards_text(planes: Tensor, decoder: TriplaneDecoder, clip: LoadedClip,
                        rig: CameraRig, render: VolumeRenderSettings, source_text: str,
                        edit_text: str, scale: Tensor, settings: RefinementSettings,
                        seed: int = 0) -> Tensor:
    """Tri-planes ``(B, 3, C, R, R)`` refined from ``source_text`` towards ``edit_text``;
    ``scale`` ``(C,)`` is the fitted planes' per-channel standard deviation."""
    if settings.steps <= 0:
        return planes
    texts = embed_texts(clip, [edit_text, source_text])
    render = replace(render, empty_opacity=0.0, jitter=True)  # every ray keeps its gradient
    scale = scale.reshape(1, 1, -1, 1, 1).to(planes)
    generator = torch.Generator().manual_seed(seed)
    frozen = [p.requires_grad for p in (*decoder.parameters(), *clip.model.parameters())]
    for parameter in (*decoder.parameters(), *clip.model.parameters()):
        parameter.requires_grad_(False)
    try:
        batch, _, channels, resolution = planes.shape[:4]
        coarse = settings.offset_resolution
        offset = torch.zeros(batch, 3, channels, coarse, coarse, requires_grad=True)
        optimiser = torch.optim.Adam([offset], lr=settings.learning_rate)
        for _ in tqdm(range(settings.steps), desc="text-guided refinement", leave=False):
            cameras = random_front_cameras(rig, settings.views_per_step, settings.image_size,
                                           settings.azimuth_degrees, generator)
            change = upsampled(offset, resolution) * scale  # in units of ``scale``
            loss = settings.anchor_weight * offset.pow(2).mean()
            for index in range(len(planes)):
                cosines = text_alignment(clip, planes[index] + change[index], decoder, cameras,
                                         render, texts)
                loss = loss - (cosines[:, 0] - cosines[:, 1]).mean() / len(planes)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    finally:
        for parameter, flag in zip((*decoder.parameters(), *clip.model.parameters()), frozen):
            parameter.requires_grad_(flag)
    return (planes + upsampled(offset, planes.shape[-1]).detach() * scale).detach()


def upsampled(offset: Tensor, resolution: int) -> Tensor:
    """``(B, 3, C, r, r)`` → ``(B, 3, C, R, R)`` bilinearly, plane by plane."""
    batch, planes, channels, coarse = offset.shape[:4]
    flat = offset.reshape(batch * planes, channels, coarse, coarse)
    fine = torch.nn.functional.interpolate(flat, size=(resolution, resolution), mode="bilinear",
                                           align_corners=False)
    return fine.reshape(batch, planes, channels, resolution, resolution)
