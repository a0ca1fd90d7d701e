"""An import as deferred work: the ``ingest`` parameter block checked and turned into one
fingerprinted :class:`~rodin_pipelines.avatars.folder.AvatarJob` (run by the avatar-folder
dataset only when the folder is missing or stale)."""

from __future__ import annotations

from typing import Any

from rodin_pipelines.avatars.folder import AvatarJob, AvatarViews
from rodin_pipelines.avatars.importer import (
    ImportOptions,
    avatar_id_for,
    fingerprint_of_import,
    import_nerf_synthetic,
)

INGEST_KEYS = frozenset(
    {"source", "avatar_id", "split", "recentre", "target_half_extent", "fallback_camera_distance",
     "image_size", "holdout_every", "up_axis", "caption"}
)
"""Keys of the ``ingest`` parameter block (a typo there must fail, not be ignored)."""


def import_job(ingest: dict[str, Any]) -> dict[str, AvatarJob]:
    """One lazy, fingerprinted import job keyed by avatar id, for the ``avatars`` dataset.

    The dataset skips the job when the avatar folder already holds the same fingerprint (same
    source files and options), so re-running the pipeline does not re-import.
    """
    unknown = sorted(set(ingest) - INGEST_KEYS)
    if unknown:
        raise ValueError(
            f"unknown ingest parameters {unknown}; expected some of {sorted(INGEST_KEYS)}"
        )
    source = ingest.get("source")
    if source is None:
        raise ValueError(
            "ingest.source is not set: pass --params ingest.source=PATH, a folder holding "
            "transforms.json or transforms_train.json (NeRF-synthetic form)"
        )
    defaults = ImportOptions()
    options: dict[str, Any] = {
        "split": ingest.get("split", defaults.split),
        "recentre": ingest.get("recentre", defaults.recentre),
        "target_half_extent": ingest.get("target_half_extent", defaults.target_half_extent),
        "fallback_camera_distance": ingest.get(
            "fallback_camera_distance", defaults.fallback_camera_distance
        ),
        "image_size": ingest.get("image_size", defaults.image_size),
        "holdout_every": ingest.get("holdout_every", defaults.holdout_every),
        "up_axis": ingest.get("up_axis", defaults.up_axis),
        "caption": ingest.get("caption", defaults.caption),
    }
    avatar_id = avatar_id_for(source, ingest.get("avatar_id"))
    fingerprint = fingerprint_of_import(source, avatar_id=avatar_id, **options)

    def build() -> AvatarViews:
        return import_nerf_synthetic(source, avatar_id, **options)

    return {avatar_id: AvatarJob(fingerprint, build)}
