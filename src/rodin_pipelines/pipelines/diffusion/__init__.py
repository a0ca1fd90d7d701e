"""The ``diffusion`` stage: base and upsampler diffusion on rolled-out tri-planes."""

from rodin_pipelines.pipelines.diffusion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
