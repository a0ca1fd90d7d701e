"""A Kedro dataset over a root of avatar folders (``<root>/<avatar_id>/``).

Like ``PartitionedDataset``, loading returns lazy loaders keyed by avatar id and saving accepts
lazy work, but it knows the avatar folder layout and makes saving resumable: each item to save is
an :class:`AvatarJob` carrying a fingerprint of what would produce it, and an avatar whose folder
already exists with the same fingerprint is skipped without running the job. Each folder is
written atomically, so a killed run never leaves a half-written avatar that a rerun would trust.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from tqdm.auto import tqdm

from rodin_pipelines.atomic_files import remove_stale_temporaries
from rodin_pipelines.avatars.folder import (
    AvatarFolderReader,
    AvatarJob,
    AvatarViews,
    finished_avatar_ids,
    read_avatar_meta,
    write_avatar_folder,
)

FINGERPRINT_KEY = "fingerprint"
"""Key of ``meta.json`` holding the fingerprint of the job that wrote the folder."""


@dataclass(frozen=True)
class SaveReport:
    """What the last save did, for logging and tests."""

    written: tuple[str, ...]
    skipped: tuple[str, ...]
    seconds: float


class AvatarFolderDataset(AbstractDataset[dict[str, AvatarJob], dict[str, Callable[[], AvatarViews]]]):
    """Avatar folders under ``path``: load gives lazy readers, save runs jobs resumably."""

    def __init__(self, path: str, progress: bool = True, metadata: dict[str, Any] | None = None):
        self._root = Path(path)
        self._progress = progress
        self.metadata = metadata
        self.last_save: SaveReport | None = None

    @property
    def root(self) -> Path:
        return self._root

    def load(self) -> dict[str, AvatarFolderReader]:
        """Lazy readers of every finished avatar folder, by avatar id (sorted)."""
        return {
            avatar_id: AvatarFolderReader(self._root / avatar_id)
            for avatar_id in finished_avatar_ids(self._root)
        }

    def save(self, data: dict[str, AvatarJob]) -> None:
        """Run every job whose folder is missing or stale; skip the ones already done."""
        self._root.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self._root)
        started = time.perf_counter()
        written, skipped = [], []
        bar = tqdm(data.items(), desc=f"avatars -> {self._root}", unit="avatar",
                   disable=not self._progress)
        for avatar_id, job in bar:
            folder = self._root / avatar_id
            meta = read_avatar_meta(folder)
            if meta is not None and meta.get(FINGERPRINT_KEY) == job.fingerprint:
                skipped.append(avatar_id)
                bar.set_postfix(skipped=len(skipped), refresh=False)
                continue
            avatar = job.build()
            avatar.meta = {**avatar.meta, FINGERPRINT_KEY: job.fingerprint}
            write_avatar_folder(folder, avatar)
            written.append(avatar_id)
        self.last_save = SaveReport(tuple(written), tuple(skipped), time.perf_counter() - started)

    def _exists(self) -> bool:
        return bool(finished_avatar_ids(self._root))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root)}
