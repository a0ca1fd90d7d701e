"""The ``evaluate`` stage: FID/KID on CLIP features against baselines, and memorisation."""

from rodin_pipelines.pipelines.evaluate.pipeline import create_pipeline

__all__ = ["create_pipeline"]
