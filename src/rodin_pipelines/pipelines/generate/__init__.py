"""The ``generate`` stage: avatars from nothing, a prompt, a portrait, or a text edit."""

from rodin_pipelines.pipelines.generate.pipeline import create_pipeline

__all__ = ["create_pipeline"]
