"""The ``render`` stage: procedural synthetic avatars rendered from many views."""

from rodin_pipelines.pipelines.render.pipeline import create_pipeline

__all__ = ["create_pipeline"]
