"""The ``encoder`` stage: the domain CLIP, per-avatar CLIP image embeddings, their quality."""

from rodin_pipelines.pipelines.encoder.pipeline import create_pipeline

__all__ = ["create_pipeline"]
