"""Meshes (PLY and GLB with vertex colours) written to a folder and logged to MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trimesh
from kedro.io import AbstractDataset

from rodin_pipelines.datasets.tracking import log_to_active_run
from rodin_pipelines.rendering.mesh_export import write_mesh


class MeshFolderDataset(AbstractDataset[dict[str, trimesh.Trimesh], dict[str, trimesh.Trimesh]]):
    """``<path>/<name>.<suffix>`` for every mesh and every suffix (``.ply``, ``.glb``).

    Args:
        path: the folder.
        suffixes: file formats to write.
        artifact_path: folder in the MLflow run for the GLB files (``None``: not logged).
    """

    def __init__(self, path: str, suffixes: tuple[str, ...] = (".ply", ".glb"),
                 artifact_path: str | None = "meshes",
                 metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self._suffixes = tuple(suffixes)
        self._artifact_path = artifact_path
        self.metadata = metadata

    def load(self) -> dict[str, trimesh.Trimesh]:
        suffix = self._suffixes[0]
        return {p.stem: trimesh.load(p, force="mesh", process=False)
                for p in sorted(self._path.glob(f"*{suffix}"))}

    def save(self, data: dict[str, trimesh.Trimesh]) -> None:
        for name, mesh in data.items():
            for suffix in self._suffixes:
                write_mesh(mesh, self._path / f"{name}{suffix}")
            glb = self._path / f"{name}.glb"
            if self._artifact_path is not None and glb.is_file():
                log_to_active_run(lambda mlflow, glb=glb: mlflow.log_artifact(
                    str(glb), self._artifact_path), f"mesh {glb.name}")

    def _exists(self) -> bool:
        return self._path.is_dir() and any(self._path.iterdir())

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "suffixes": self._suffixes}
