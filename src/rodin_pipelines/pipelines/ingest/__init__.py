"""The ingest pipeline: bring a multi-view folder in NeRF-synthetic form in as an avatar folder."""

from rodin_pipelines.pipelines.ingest.pipeline import create_pipeline

__all__ = ["create_pipeline"]
