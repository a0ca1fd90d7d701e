"""A PNG picture (contact sheet, gallery, plot) written atomically and logged to MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset
from PIL import Image

from rodin_pipelines.atomic_files import atomic_write_png
from rodin_pipelines.datasets.tracking import log_to_active_run


class PngDataset(AbstractDataset[np.ndarray, np.ndarray]):
    """An 8-bit RGB(A) image ``(H, W, 3|4)`` as a PNG file, also an artifact of the MLflow run.

    Args:
        filepath: where the PNG goes.
        artifact_path: folder inside the MLflow run's artifacts (``None``: not logged).
    """

    def __init__(self, filepath: str, artifact_path: str | None = "pictures",
                 metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self._artifact_path = artifact_path
        self.metadata = metadata

    def load(self) -> np.ndarray:
        with Image.open(self._filepath) as image:
            return np.asarray(image.convert("RGBA" if image.mode == "RGBA" else "RGB"))

    def save(self, data: np.ndarray) -> None:
        if data.dtype != np.uint8 or data.ndim != 3 or data.shape[-1] not in (3, 4):
            raise ValueError(f"expected uint8 (H, W, 3|4), got {data.dtype} {data.shape}")
        atomic_write_png(self._filepath, data)
        if self._artifact_path is not None:
            log_to_active_run(
                lambda mlflow: mlflow.log_artifact(str(self._filepath), self._artifact_path),
                f"picture {self._filepath.name}",
            )

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "artifact_path": self._artifact_path}
