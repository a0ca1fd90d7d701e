"""Stage metrics: a flat JSON file that DVC and git can read, mirrored into the MLflow run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.datasets.tracking import log_to_active_run


class MetricsJsonDataset(AbstractDataset[dict[str, float], dict[str, float]]):
    """Flat ``{name: number}`` metrics written to ``filepath`` and logged as MLflow metrics.

    Args:
        filepath: the JSON file (declare it under ``metrics:`` in ``dvc.yaml``).
        prefix: prepended to every name in MLflow (``"render/"``), so stages do not collide.
    """

    def __init__(self, filepath: str, prefix: str = "",
                 metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self._prefix = prefix
        self.metadata = metadata

    def load(self) -> dict[str, float]:
        return json.loads(self._filepath.read_text(encoding="utf-8"))

    def save(self, data: dict[str, float]) -> None:
        for name, value in data.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"metric {name!r} must be a number, got {value!r}")
        atomic_write_json(self._filepath, dict(sorted(data.items())))
        finite = {self._prefix + k: float(v) for k, v in data.items() if math.isfinite(v)}
        log_to_active_run(lambda mlflow: mlflow.log_metrics(finite), f"metrics {self._filepath}")

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "prefix": self._prefix}
