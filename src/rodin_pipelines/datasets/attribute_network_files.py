"""The evaluate stage's judge: the attribute network's safetensors weights and JSON config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from rodin_pipelines.evaluation.attribute_judge import (CONFIG_FILE, WEIGHTS_FILE,
                                                        AttributeJudge, load_attribute_judge,
                                                        save_attribute_judge)


class AttributeNetworkDataset(AbstractDataset[AttributeJudge, AttributeJudge]):
    """An :class:`AttributeJudge` in a folder (weights and config, each written atomically).

    Args:
        path: the folder.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> AttributeJudge:
        return load_attribute_judge(self._path)

    def save(self, data: AttributeJudge) -> None:
        save_attribute_judge(data, self._path)

    def _exists(self) -> bool:
        return (self._path / WEIGHTS_FILE).is_file() and (self._path / CONFIG_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
