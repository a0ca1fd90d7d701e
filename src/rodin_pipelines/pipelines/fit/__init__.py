"""The ``fit`` stage: a tri-plane per avatar with one shared MLP decoder."""

from rodin_pipelines.pipelines.fit.pipeline import create_pipeline

__all__ = ["create_pipeline"]
