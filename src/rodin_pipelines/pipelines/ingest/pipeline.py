"""The ingest pipeline: ``kedro run --pipeline ingest --params ingest.source=PATH``."""

from __future__ import annotations

from typing import Any

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.ingest.nodes import import_avatar_folder


def create_pipeline(**kwargs: Any) -> Pipeline:
    """One node: import the folder ``params:ingest.source`` into the ``avatars`` dataset."""
    return Pipeline(
        [
            Node(
                import_avatar_folder,
                inputs="params:ingest",
                outputs="avatars",
                name="import_avatar_folder",
            )
        ]
    )
