"""The ``ablations`` stage: the paper's 3D-aware-convolution ablation, trained and scored beside
the main models."""

from rodin_pipelines.pipelines.ablations.pipeline import create_pipeline

__all__ = ["create_pipeline"]
