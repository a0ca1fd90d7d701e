"""Wiring of the ``encoder`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.encoder.nodes import embed_avatars, evaluate_clip, train_domain_clip


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            Node(train_domain_clip, inputs=["avatars", "avatar_index", "params:encoder"],
                 outputs="clip_weights", name="train_domain_clip"),
            Node(embed_avatars, inputs=["avatars", "clip_weights", "params:encoder"],
                 outputs="avatar_embeddings", name="embed_avatars"),
            Node(evaluate_clip,
                 inputs=["avatars", "avatar_index", "clip_weights", "avatar_embeddings",
                         "params:encoder"],
                 outputs="encoder_metrics", name="evaluate_clip"),
        ]
    )
