"""From seeds to avatar folders: plan the procedural avatar set and render each one.

An avatar is fully determined by its seed (attributes, cameras) and the render settings, so its
fingerprint is a hash of those; :class:`~rodin_pipelines.datasets.avatar_folders.AvatarFolderDataset`
uses it to skip avatars a previous (perhaps killed) run already finished.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import torch
from torch import Tensor

from rodin_pipelines.avatars.attributes import AvatarAttributes, sample_attributes
from rodin_pipelines.avatars.captions import caption_from_attributes, paraphrases_from_attributes
from rodin_pipelines.avatars.folder import (
    FRONTAL_SPLIT,
    TEST_SPLIT,
    TRAIN_SPLIT,
    AvatarJob,
    AvatarViews,
)
from rodin_pipelines.fingerprints import json_fingerprint
from rodin_pipelines.rendering.camera_rig import (
    CameraRig,
    held_out_view_mask,
    rig_frontal_camera,
    sample_rig_cameras,
)
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.transforms_json import Frame, Transforms

TRAIN_AVATARS = "train"
"""Avatars the later stages learn from."""
HELDOUT_AVATARS = "heldout"
"""Avatars kept out of training, for evaluation (FID reference set, held-out fits)."""


class AvatarRenderer(Protocol):
    """A rendering backend (built from config): attribute set + cameras → RGBA images."""

    def describe(self) -> dict[str, Any]: ...

    def render(self, attributes: AvatarAttributes, cameras: Cameras) -> Tensor: ...


@dataclass(frozen=True)
class AvatarPlan:
    """One procedural avatar to make."""

    avatar_id: str
    seed: int
    split: str
    attributes: AvatarAttributes


@dataclass(frozen=True)
class ViewPlan:
    """Which images every avatar gets.

    Attributes:
        views: cameras drawn from the rig per avatar (the frontal view comes on top).
        image_size: width and height in pixels.
        holdout_every: every n-th drawn view is held out for testing fits (0: none).
        paraphrases: how many caption paraphrases to store besides the caption.
    """

    views: int
    image_size: int
    holdout_every: int = 6
    paraphrases: int = 4


MAIN_SET_PREFIX = "avatar"
"""Folder name prefix of the main avatar set (fitted, diffused, evaluated)."""
CLIP_SET_PREFIX = "clip_avatar"
"""Folder name prefix of the CLIP-only set: a few views per avatar, never fitted."""


def avatar_id_of(index: int, prefix: str = MAIN_SET_PREFIX) -> str:
    """Folder name of the ``index``-th procedural avatar of a set (sorts in creation order)."""
    return f"{prefix}_{index:06d}"


def plan_avatars(count: int, first_seed: int, heldout_every: int,
                 prefix: str = MAIN_SET_PREFIX) -> list[AvatarPlan]:
    """``count`` avatars with seeds ``first_seed + i``; every ``heldout_every``-th is held out."""
    plans = []
    for index in range(count):
        seed = first_seed + index
        heldout = heldout_every > 0 and index % heldout_every == heldout_every - 1
        plans.append(AvatarPlan(avatar_id_of(index, prefix), seed,
                                HELDOUT_AVATARS if heldout else TRAIN_AVATARS,
                                sample_attributes(seed)))
    return plans


def render_avatar(
    plan: AvatarPlan, renderer: AvatarRenderer, rig: CameraRig, views: ViewPlan
) -> AvatarViews:
    """Render one planned avatar: the frontal view first, then the rig's views."""
    started = time.perf_counter()
    matrices = torch.cat([rig_frontal_camera(rig), sample_rig_cameras(rig, views.views, plan.seed)])
    cameras = Cameras(matrices, rig.fov_x, views.image_size, views.image_size)
    images = renderer.render(plan.attributes, cameras)
    held_out = held_out_view_mask(views.views, views.holdout_every).tolist()
    splits = [FRONTAL_SPLIT] + [TEST_SPLIT if out else TRAIN_SPLIT for out in held_out]
    frames = tuple(Frame("", matrix, split) for matrix, split in zip(matrices, splits))
    captions = [caption_from_attributes(plan.attributes)]
    captions += paraphrases_from_attributes(plan.attributes, count=views.paraphrases,
                                            seed=plan.seed)
    meta = {
        "source": "procedural",
        "seed": plan.seed,
        "split": plan.split,
        "backend": renderer.describe().get("backend"),
        "renderer": renderer.describe(),
        "render_seconds": round(time.perf_counter() - started, 4),
    }
    return AvatarViews(plan.avatar_id, images, Transforms(rig.fov_x, frames), 
                       plan.attributes.to_dict(), captions, meta)


def avatar_fingerprint(
    plan: AvatarPlan, renderer: AvatarRenderer, rig: CameraRig, views: ViewPlan
) -> str:
    """Hash of everything that determines an avatar folder's content."""
    payload = {
        "seed": plan.seed,
        "split": plan.split,
        "attributes": plan.attributes.to_dict(),
        "renderer": renderer.describe(),
        "rig": asdict(rig),
        "views": asdict(views),
    }
    return json_fingerprint(payload)


def avatar_jobs(
    plans: list[AvatarPlan], renderer: AvatarRenderer, rig: CameraRig, views: ViewPlan
) -> dict[str, AvatarJob]:
    """Deferred render jobs keyed by avatar id, for the avatar folder dataset to run."""

    def job(plan: AvatarPlan) -> AvatarJob:
        return AvatarJob(
            avatar_fingerprint(plan, renderer, rig, views),
            lambda: render_avatar(plan, renderer, rig, views),
        )

    return {plan.avatar_id: job(plan) for plan in plans}


INDEX_COLUMNS = ("avatar_id", "split", "seed", "caption", "views",
                 *(field.name for field in fields(AvatarAttributes)))
"""Columns of an avatar index table, in order (an empty set's table has them too)."""


def index_rows(plans: list[AvatarPlan], views: ViewPlan) -> list[dict[str, Any]]:
    """One row per avatar for the index table: id, split, seed, caption, views, attributes."""
    return [
        {
            "avatar_id": plan.avatar_id,
            "split": plan.split,
            "seed": plan.seed,
            "caption": caption_from_attributes(plan.attributes),
            "views": views.views + 1,
            **plan.attributes.to_dict(),
        }
        for plan in plans
    ]
