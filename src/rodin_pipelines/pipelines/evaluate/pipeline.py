"""Wiring of the ``evaluate`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.evaluate.generation_nodes import benchmark_generation, train_judge
from rodin_pipelines.pipelines.evaluate.nodes import evaluate_generation


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline([
        Node(evaluate_generation,
             inputs=["embedding_prior", "base_model_weights", "upsampler_model_weights",
                     "plane_statistics", "shared_decoder", "triplanes", "avatars",
                     "avatar_embeddings", "avatar_index", "clip_weights", "params:encoder",
                     "params:diffusion", "params:render", "params:evaluate"],
             outputs=["evaluate_metrics", "evaluate_gallery", "memorisation_grid",
                      "evaluate_samples", "evaluate_scores_chart", "evaluation_outputs"],
             name="evaluate_generation"),
        Node(train_judge, inputs=["avatars", "avatar_index", "clip_avatars", "clip_avatar_index",
                                 "params:evaluate"],
             outputs=["attribute_judge", "judge_metrics"], name="train_attribute_judge"),
        Node(benchmark_generation,
             inputs=["embedding_prior", "base_model_weights", "upsampler_model_weights",
                     "plane_statistics", "shared_decoder", "avatars", "avatar_embeddings",
                     "avatar_index", "clip_weights", "attribute_judge", "judge_metrics",
                     "evaluation_outputs", "params:encoder",
                     "params:diffusion", "params:render", "params:fit", "params:evaluate"],
             outputs=["generation_metrics", "generation_report"],
             name="benchmark_generation"),
    ])
