"""What each avatar's tri-plane is fitted to, read from its avatar folder.

This is where avatars meet tri-planes: the views of a folder become a
:class:`~rodin_pipelines.triplane.supervision.FitTarget`, and for a procedural avatar (one with
attributes) its scene can be rebuilt and queried in 3D. The fit's jobs receive an
:class:`AvatarFitTargets` instead of knowing about avatars themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.avatars.attributes import AvatarAttributes
from rodin_pipelines.avatars.folder import TRAIN_SPLIT, AvatarViews, read_avatar_folder
from rodin_pipelines.avatars.scene import SceneSettings, bake_avatar_scene
from rodin_pipelines.rendering.volume_renderer import RadianceField
from rodin_pipelines.triplane.supervision import (
    NEAR_SURFACE_DISTANCE,
    FitTarget,
    premultiplied_pixels,
)


def fit_target_from_views(
    avatar: AvatarViews, scene: RadianceField | None = None,
    surface_points: Tensor | None = None, split: str = TRAIN_SPLIT,
) -> FitTarget:
    """The training views of ``avatar`` as a fit target (frames of ``split`` only)."""
    indices = avatar.split_indices(split)
    if not indices:
        raise ValueError(f"avatar {avatar.avatar_id} has no '{split}' views to fit")
    cameras = avatar.cameras()[torch.tensor(indices)]
    return FitTarget(avatar.avatar_id, premultiplied_pixels(avatar.images[indices]), cameras,
                     scene, surface_points)


def load_fit_target(folder: str, scene: SceneSettings | None) -> FitTarget:
    """An avatar folder's training views, plus its 3D scene when ``scene`` is set and the avatar
    is procedural (has attributes)."""
    avatar = read_avatar_folder(folder)
    if scene is None or not avatar.attributes:
        return fit_target_from_views(avatar)
    baked = bake_avatar_scene(AvatarAttributes.from_dict(avatar.attributes), scene)
    return fit_target_from_views(avatar, baked, baked.near_surface_points(NEAR_SURFACE_DISTANCE))


@dataclass(frozen=True)
class AvatarFitTargets:
    """A :class:`~rodin_pipelines.triplane.supervision.FitTargetLoader` over avatar folders:
    the training views, plus the procedural scene in 3D when ``scene`` is set (``None``:
    photometric only). Plain data, so it pickles into phase-2 worker processes."""

    scene: SceneSettings | None = None

    def __call__(self, folder: str) -> FitTarget:
        return load_fit_target(folder, self.scene)

    def settings(self) -> dict[str, Any] | None:
        return asdict(self.scene) if self.scene else None
