"""A table (the avatar indexes, fit quality) as a CSV file written atomically.

``pandas.CSVDataset`` writes in place: a kill or a concurrent reader meets a half-written
index, which the next stage would read as fewer avatars. Here the CSV is formatted in memory
and renamed into place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

from rodin_pipelines.atomic_files import atomic_write_text


class CsvTableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A data frame as ``filepath`` (CSV, no index column).

    Args:
        filepath: where the CSV goes.
        load_args: keyword arguments of ``pandas.read_csv``.
    """

    def __init__(self, filepath: str, load_args: dict[str, Any] | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return pd.read_csv(self._filepath, **self._load_args)

    def save(self, data: pd.DataFrame) -> None:
        atomic_write_text(self._filepath, data.to_csv(index=False))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "load_args": self._load_args}
