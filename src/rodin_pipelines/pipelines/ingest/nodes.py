"""Nodes of the ingest pipeline: thin glue over :mod:`rodin_pipelines.avatars.import_jobs`."""

from __future__ import annotations

from typing import Any

from rodin_pipelines.avatars.folder import AvatarJob
from rodin_pipelines.avatars.import_jobs import import_job


def import_avatar_folder(ingest: dict[str, Any]) -> dict[str, AvatarJob]:
    """One lazy, fingerprinted import job keyed by avatar id, for the ``avatars`` dataset."""
    return import_job(ingest)
