"""Wiring of the ``encoder`` stage."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.encoder.nodes import (
    clip_quality_chart,
    embed_avatars,
    embed_near_frontal,
    evaluate_clip,
    train_domain_clip,
)
from rodin_pipelines.pipelines.encoder.prior_nodes import embed_captions, evaluate_prior, train_prior


def create_pipeline(**kwargs: object) -> Pipeline:
    return Pipeline(
        [
            Node(train_domain_clip,
                 inputs=["avatars", "avatar_index", "clip_avatars", "clip_avatar_index",
                         "params:encoder"],
                 outputs="clip_weights", name="train_domain_clip"),
            Node(embed_avatars, inputs=["avatars", "clip_weights", "params:encoder"],
                 outputs="avatar_embeddings", name="embed_avatars"),
            Node(embed_near_frontal, inputs=["avatars", "clip_weights", "params:encoder"],
                 outputs="near_frontal_embeddings", name="embed_near_frontal_views"),
            Node(evaluate_clip,
                 inputs=["avatars", "avatar_index", "clip_avatars", "clip_avatar_index",
                         "clip_weights", "avatar_embeddings", "params:encoder"],
                 outputs="encoder_metrics", name="evaluate_clip"),
            Node(clip_quality_chart, inputs="encoder_metrics", outputs="encoder_clip_chart",
                 name="chart_clip_quality"),
            Node(embed_captions, inputs=["avatars", "clip_weights", "params:encoder"],
                 outputs="caption_embeddings", name="embed_captions"),
            Node(train_prior,
                 inputs=["avatar_embeddings", "caption_embeddings", "avatar_index",
                         "params:encoder"],
                 outputs="embedding_prior", name="train_prior"),
            Node(evaluate_prior,
                 inputs=["embedding_prior", "avatar_embeddings", "caption_embeddings",
                         "avatar_index", "clip_weights", "params:encoder"],
                 outputs="prior_metrics", name="evaluate_prior"),
        ]
    )
