"""Wiring of the ``ablations`` stage (not in ``__default__``: it retrains both diffusion models;
``kedro run --pipeline ablations``)."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.ablations.nodes import score_ablation, train_ablation_model
from rodin_pipelines.training.diffusion_training import collect_triplane_examples

MODELS = ("base", "upsampler")


def create_pipeline(**kwargs: object) -> Pipeline:
    collect = Pipeline([
        Node(collect_triplane_examples,
             inputs=["triplanes", "avatar_embeddings", "avatar_index", "avatars",
                     "params:diffusion"],
             outputs="ablation_examples", name="collect_ablation_examples"),
    ])
    training = Pipeline([
        Node(train_ablation_model,
             inputs=["ablation_examples", "plane_statistics", "shared_decoder",
                     f"params:diffusion.{name}", f"params:ablations.no_aware_conv.{name}",
                     "params:diffusion", "params:ablations.progress_folder", "params:render"],
             outputs=f"no_aware_conv_{name}_model_weights",
             name=f"train_no_aware_conv_{name}")
        for name in MODELS
    ])
    score = Pipeline([
        Node(score_ablation,
             inputs=["embedding_prior", "base_model_weights", "upsampler_model_weights",
                     "no_aware_conv_base_model_weights", "no_aware_conv_upsampler_model_weights",
                     "plane_statistics", "shared_decoder", "triplanes", "avatars",
                     "avatar_index", "clip_weights", "params:encoder", "params:diffusion",
                     "params:ablations.no_aware_conv", "params:evaluate"],
             outputs="ablation_metrics", name="score_no_aware_conv"),
    ])
    return collect + training + score
