"""CLIP embeddings of avatar views and of texts: the latent space every generation mode shares.

``e = CLIP_image(frontal view)`` is an avatar's latent (method §4). Images are composited on a
white background, resized and normalised exactly as in training without augmentation, and
embeddings are L2-normalised, so cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarViews
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.models.clip_preprocessing import clip_image_transform, over_background
from rodin_pipelines.rendering.cameras import azimuth_from_face, elevation_from_horizon

EMBEDDING_BACKGROUND = (1.0, 1.0, 1.0)
"""Background behind transparent pixels when embedding a view (white, like a portrait)."""


@torch.no_grad()
def embed_views(clip: LoadedClip, views: Tensor, batch_size: int = 64) -> Tensor:
    """Straight RGBA views ``(B, H, W, 4)`` → unit image embeddings ``(B, D)``."""
    transform = clip_image_transform(clip.image_size, augmentation=None)
    background = torch.tensor(EMBEDDING_BACKGROUND)
    images = torch.stack([transform(over_background(view, background)) for view in views])
    parts = [clip.model.encode_image(images[i:i + batch_size], normalize=True)
             for i in range(0, len(images), batch_size)]
    return torch.cat(parts)


@torch.no_grad()
def embed_texts(clip: LoadedClip, texts: list[str]) -> Tensor:
    """Texts → unit text embeddings ``(T, D)``; an empty text is an error, not a silent zero."""
    if not texts or any(not text.strip() for text in texts):
        raise ValueError("cannot embed an empty prompt; give a description such as "
                         "'a smiling woman with long red hair'")
    return clip.model.encode_text(clip.tokenizer(texts), normalize=True)


def embed_avatars(avatars: dict[str, Callable[[], AvatarViews]], clip: LoadedClip,
                  extra_views: int) -> dict[str, Tensor]:
    """Per avatar ``(1 + extra, D)``: the frontal view's embedding first (the avatar's latent),
    then those of its next ``extra_views`` views."""
    embeddings = {}
    for avatar_id in sorted(avatars):
        avatar = avatars[avatar_id]()
        frontal = avatar.frontal_index()
        others = [i for i in range(len(avatar.images)) if i != frontal]
        chosen = [frontal] + others[: extra_views]
        embeddings[avatar_id] = embed_views(clip, avatar.images[chosen])
    return embeddings


def near_frontal_indices(avatar: AvatarViews, max_azimuth_degrees: float,
                         max_elevation_degrees: float) -> list[int]:
    """The avatar's views other than the frontal one whose camera sits within
    ``max_azimuth_degrees`` of the face and ``max_elevation_degrees`` of the horizon."""
    matrices = torch.stack([frame.camera_to_world for frame in avatar.transforms.frames])
    near = ((azimuth_from_face(matrices).abs() <= max_azimuth_degrees)
            & (elevation_from_horizon(matrices).abs() <= max_elevation_degrees))
    frontal = avatar.frontal_index()
    return [i for i in range(len(avatar.images)) if bool(near[i]) and i != frontal]


def embed_near_frontal_views(avatars: dict[str, Callable[[], AvatarViews]], clip: LoadedClip,
                             max_azimuth_degrees: float,
                             max_elevation_degrees: float) -> dict[str, Tensor]:
    """Per avatar ``(K, D)``: embeddings of its near-frontal views other than the frontal one
    (:func:`near_frontal_indices`; ``K`` differs between avatars, an avatar with none is left
    out). They are the frontal latent seen from a little aside: the same attributes, another e."""
    embeddings = {}
    for avatar_id in sorted(avatars):
        avatar = avatars[avatar_id]()
        chosen = near_frontal_indices(avatar, max_azimuth_degrees, max_elevation_degrees)
        if chosen:
            embeddings[avatar_id] = embed_views(clip, avatar.images[chosen])
    return embeddings
