"""Wiring of the ``generate`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.generation.generator import MODEL_INPUTS
from rodin_pipelines.pipelines.generate.nodes import generate_avatars


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline([
        Node(generate_avatars,
             inputs=[*MODEL_INPUTS, "params:encoder", "params:diffusion", "params:render",
                     "params:fit", "params:generate"],
             outputs="generated_avatars", name="generate_avatars"),
    ])
