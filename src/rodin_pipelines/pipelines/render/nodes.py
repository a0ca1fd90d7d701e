"""Nodes of the ``render`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from rodin_pipelines.avatars.backends.selection import avatar_renderer
from rodin_pipelines.avatars.folder import AvatarViews
from rodin_pipelines.avatars.procedural import (
    CLIP_SET_PREFIX,
    INDEX_COLUMNS,
    AvatarPlan,
    ViewPlan,
    avatar_jobs,
    index_rows,
    plan_avatars,
)
from rodin_pipelines.datasets.avatar_folders import AvatarJob
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.contact_sheet import contact_sheet
from rodin_pipelines.sharding import shard_from_environment


def plan_render_jobs(render: dict[str, Any]) -> tuple[dict[str, AvatarJob], pd.DataFrame]:
    """Deferred render jobs of this process's shard, and the index table of all avatars."""
    plans = plan_avatars(
        count=render["avatars"], first_seed=render["seed"], heldout_every=render["heldout_every"]
    )
    return _shard_jobs(plans, ViewPlan(**render["views"]), render)


def plan_clip_set_jobs(render: dict[str, Any]) -> tuple[dict[str, AvatarJob], pd.DataFrame]:
    """The CLIP-only set: more avatars than the fit can afford, a few views each, rendered
    like the main set (same backend, rig and image size) from seeds the main set never uses."""
    clip_set = render["clip_set"]
    plans = plan_avatars(count=clip_set["avatars"], first_seed=clip_set["seed"],
                         heldout_every=clip_set["heldout_every"], prefix=CLIP_SET_PREFIX)
    views = ViewPlan(views=clip_set["views"], image_size=render["views"]["image_size"],
                     holdout_every=0, paraphrases=render["views"]["paraphrases"])
    return _shard_jobs(plans, views, render)


def _shard_jobs(plans: list[AvatarPlan], views: ViewPlan, render: dict[str, Any]
                ) -> tuple[dict[str, AvatarJob], pd.DataFrame]:
    shard = shard_from_environment(render["shard"]["index"], render["shard"]["count"])
    renderer = avatar_renderer(render)
    jobs = avatar_jobs(shard.select(plans), renderer, CameraRig(**render["camera_rig"]), views)
    return jobs, pd.DataFrame(index_rows(plans, views), columns=list(INDEX_COLUMNS))


def make_contact_sheet(
    avatars: dict[str, Callable[[], AvatarViews]], contact_sheet_params: dict[str, Any]
) -> np.ndarray:
    """Rows of the first avatars, columns of their first views (frontal first)."""
    chosen = sorted(avatars)[: contact_sheet_params["avatars"]]
    return contact_sheet(
        [avatars[i]().images for i in chosen],
        columns=contact_sheet_params["views"],
        scale=contact_sheet_params["scale"],
    )


def summarise_render(
    avatars: dict[str, Callable[[], AvatarViews]], index: pd.DataFrame,
    clip_avatars: dict[str, Callable[[], AvatarViews]], clip_index: pd.DataFrame,
) -> dict[str, float]:
    """Counts, timing and coverage of the rendered set (for DVC and MLflow)."""
    loaded = [avatars[i]() for i in sorted(avatars) if i in set(index["avatar_id"])]
    seconds = [a.meta.get("render_seconds", float("nan")) for a in loaded]
    coverage = [float(a.images[..., 3].mean()) for a in loaded]
    views = [a.images.shape[0] for a in loaded]
    return {
        "avatars": float(len(loaded)),
        "avatars_planned": float(len(index)),
        "heldout_avatars": float((index["split"] == "heldout").sum()),
        "views_per_avatar": float(np.mean(views)) if views else 0.0,
        "image_size": float(loaded[0].images.shape[1]) if loaded else 0.0,
        "render_seconds_per_avatar": float(np.nanmean(seconds)) if seconds else 0.0,
        "render_seconds_total": float(np.nansum(seconds)),
        "mean_alpha_coverage": float(np.mean(coverage)) if coverage else 0.0,
        "distinct_captions": float(index["caption"].nunique()),
        # Folders of the index only: a smaller clip_set leaves the earlier, larger set's on disk.
        "clip_set_avatars": float(sum(i in clip_avatars for i in clip_index["avatar_id"])),
    }
