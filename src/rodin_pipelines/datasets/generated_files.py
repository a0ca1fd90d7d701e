"""Generated avatars written to ``<path>/<name>/``: ``triplane.safetensors``, ``views.png``,
``turntable.gif`` and ``.mp4``, ``mesh.glb`` (vertex colours), ``description.json``; each
result folder written whole (a temporary folder, then swapped in), and the PNG, GIF and GLB
logged to the stage's MLflow run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from rodin_pipelines.atomic_files import (
    TEMPORARY_PREFIX, atomic_directory, atomic_write_png, atomic_write_text,
)
from rodin_pipelines.datasets.tracking import log_to_active_run
from rodin_pipelines.folder_names import checked_folder_name
from rodin_pipelines.generation.outputs import GeneratedAvatar
from rodin_pipelines.rendering.contact_sheet import flatten_rgba, image_grid
from rodin_pipelines.rendering.mesh_export import write_mesh
from rodin_pipelines.rendering.turntable import write_turntable
from rodin_pipelines.triplane.storage import save_triplane

FILES = ("triplane.safetensors", "views.png", "turntable.gif", "turntable.mp4",
         "description.json")
"""Every result has these; ``mesh.glb`` too unless its field has no surface (said in the
description)."""


def views_picture(views: Any) -> np.ndarray:
    """``(V, H, W, 4)`` straight RGBA → one row of views over a checkerboard, uint8."""
    return image_grid(flatten_rgba(views)[None])


def write_result_files(folder: Path, avatar: GeneratedAvatar) -> None:
    """Every file of one result into the (new, empty) ``folder``."""
    save_triplane(folder / "triplane.safetensors", avatar.planes,
                  {k: str(v) for k, v in avatar.description.items()})
    atomic_write_png(folder / "views.png", views_picture(avatar.views))
    write_turntable(avatar.turntable, folder / "turntable.gif")
    write_turntable(avatar.turntable, folder / "turntable.mp4")
    if avatar.mesh is not None:
        write_mesh(avatar.mesh, folder / "mesh.glb")
    atomic_write_text(folder / "description.json", json.dumps(avatar.description, indent=2) + "\n")


class GeneratedAvatarsDataset(AbstractDataset[dict[str, GeneratedAvatar], list[str]]):
    """Writes results; loading lists the result folders that hold every file."""

    def __init__(self, path: str, artifact_path: str | None = "generated",
                 metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self._artifact_path = artifact_path
        self.metadata = metadata

    @property
    def path(self) -> Path:
        """The folder holding one folder per result."""
        return self._path

    def load(self) -> list[str]:
        return sorted(p.name for p in self._path.iterdir()  # not a .tmp-* write in progress
                      if p.is_dir() and not p.name.startswith(TEMPORARY_PREFIX)
                      and all((p / f).is_file() for f in FILES))

    def save(self, data: dict[str, GeneratedAvatar]) -> None:
        for name, avatar in data.items():
            folder = self._path / checked_folder_name(name, "generated avatar name")
            # One result is one folder, swapped in whole: a result saved again under the same
            # name keeps nothing of the earlier one (e.g. its mesh when the new one has none).
            with atomic_directory(folder) as staging:
                write_result_files(staging, avatar)
            if self._artifact_path:
                for file in ("views.png", "turntable.gif",
                             *(("mesh.glb",) if avatar.mesh is not None else ())):
                    log_to_active_run(lambda m, f=folder / file: m.log_artifact(
                        str(f), artifact_path=f"{self._artifact_path}/{name}"), f"{name}/{file}")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
