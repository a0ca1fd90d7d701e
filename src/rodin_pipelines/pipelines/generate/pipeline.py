"""Wiring of the ``generate`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.generate.nodes import generate_avatars


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline([
        Node(generate_avatars,
             inputs=["embedding_prior", "base_model_weights", "upsampler_model_weights",
                     "plane_statistics", "shared_decoder", "avatar_embeddings", "clip_weights",
                     "params:encoder", "params:diffusion", "params:render", "params:fit",
                     "params:generate"],
             outputs="generated_avatars", name="generate_avatars"),
    ])
