"""Generated tri-planes rendered exactly like the held-out avatars (same cameras, resolution,
renderer and background), so real and generated images differ only in what they show."""

from __future__ import annotations

import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import FRONTAL_SPLIT, TEST_SPLIT, AvatarViews
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder


def evaluation_views(avatar: AvatarViews, count: int) -> list[int]:
    """The frontal view first, then held-out test views: ``count`` frame indices."""
    chosen = avatar.split_indices(FRONTAL_SPLIT)[:1] + avatar.split_indices(TEST_SPLIT)
    if len(chosen) < count:
        raise ValueError(f"avatar {avatar.avatar_id} has {len(chosen)} frontal/test views, "
                         f"{count} asked; lower evaluate.views_per_avatar")
    return chosen[:count]


def real_and_cameras(heldout: list[AvatarViews], views: int) -> tuple[Tensor, list[Cameras]]:
    """Held-out images ``(A·V, H, W, 4)`` and each avatar's cameras of those ``V`` views."""
    images, cameras = [], []
    for avatar in heldout:
        indices = evaluation_views(avatar, views)
        images.append(avatar.images[indices])
        cameras.append(avatar.cameras()[torch.tensor(indices)])
    return torch.cat(images), cameras


def render_like_heldout(planes: Tensor, decoder: TriplaneDecoder, cameras: list[Cameras],
                        render: VolumeRenderSettings) -> Tensor:
    """Tri-planes ``(N, 3, C, R, R)`` → ``(N·V, H, W, 4)``; tri-plane ``i`` is seen through the
    cameras of held-out avatar ``i mod A``."""
    images = [render_triplanes(plane[None], decoder, cameras[i % len(cameras)], render)[0]
              for i, plane in enumerate(planes)]
    return torch.cat(images)

