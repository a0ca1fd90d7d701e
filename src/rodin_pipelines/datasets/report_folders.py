"""A report folder: pictures (PNG), JSON documents and feature matrices (``.npy``), written as
one whole (a temporary folder, then one rename) so a killed run never leaves half a report.

Plain formats on purpose: anyone can recheck the figures with PIL and numpy alone.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset
from PIL import Image

from rodin_pipelines.atomic_files import atomic_directory
from rodin_pipelines.evaluation.generation_report import GenerationReport


class ReportFolderDataset(AbstractDataset[GenerationReport, dict[str, Path]]):
    """Saves a :class:`GenerationReport`'s files under ``path``; loads ``{relative path: file}``.

    Args:
        path: the folder (replaced as a whole on every save).
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> dict[str, Path]:
        return {str(p.relative_to(self._path)): p for p in sorted(self._path.rglob("*"))
                if p.is_file()}

    def save(self, data: GenerationReport) -> None:
        with atomic_directory(self._path) as folder:
            for name, picture in data.pictures.items():
                target = _inside(folder, name)
                Image.fromarray(picture).save(target, format="PNG")
            for name, document in data.documents.items():
                _inside(folder, name).write_text(json.dumps(document, indent=2) + "\n",
                                                 encoding="utf-8")
            for name, matrix in data.features.items():
                buffer = io.BytesIO()
                np.save(buffer, matrix, allow_pickle=False)
                _inside(folder, name).write_bytes(buffer.getvalue())

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


def _inside(folder: Path, name: str) -> Path:
    """``folder / name`` with its parents made; a name that leaves the folder is refused."""
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ValueError(f"report file {name!r} would be written outside {folder}")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
