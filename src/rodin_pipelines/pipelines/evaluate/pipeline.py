"""Wiring of the ``evaluate`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.evaluate.nodes import evaluate_generation


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline([
        Node(evaluate_generation,
             inputs=["embedding_prior", "base_model_weights", "upsampler_model_weights",
                     "plane_statistics", "shared_decoder", "triplanes", "avatars",
                     "avatar_embeddings", "avatar_index", "clip_weights", "params:encoder",
                     "params:diffusion", "params:render", "params:evaluate"],
             outputs=["evaluate_metrics", "evaluate_gallery", "memorisation_grid",
                      "evaluate_samples", "evaluate_scores_chart"],
             name="evaluate_generation"),
    ])
