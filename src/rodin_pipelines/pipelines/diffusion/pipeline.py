"""Wiring of the ``diffusion`` stage: one training template under the namespaces ``base`` and
``upsampler``, then a gallery of cascade samples."""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from rodin_pipelines.pipelines.diffusion.nodes import (
    collect_triplane_examples,
    sample_gallery,
    train_diffusion_model,
)

MODELS = ("base", "upsampler")


def training_template() -> Pipeline:
    return Pipeline([
        Node(train_diffusion_model,
             inputs=["diffusion_examples", "plane_statistics", "shared_decoder", "params:model",
                     "params:diffusion", "params:render"],
             outputs="model_weights", name="train_diffusion_model"),
    ])


def create_pipeline(**kwargs: object) -> Pipeline:
    collect = Pipeline([
        Node(collect_triplane_examples,
             inputs=["triplanes", "avatar_embeddings", "avatar_index", "avatars",
                     "params:diffusion", "near_frontal_embeddings"],
             outputs="diffusion_examples", name="collect_triplane_examples"),
    ])
    models = [
        Pipeline(training_template(), namespace=name,
                 inputs={"diffusion_examples", "plane_statistics", "shared_decoder"},
                 outputs={"model_weights": f"{name}_model_weights"},
                 parameters={"params:model": f"params:diffusion.{name}",
                             "params:diffusion": "params:diffusion",
                             "params:render": "params:render"})
        for name in MODELS
    ]
    gallery = Pipeline([
        Node(sample_gallery,
             inputs=["base_model_weights", "upsampler_model_weights", "diffusion_examples",
                     "plane_statistics", "shared_decoder", "avatars", "avatar_embeddings",
                     "avatar_index", "clip_weights", "params:encoder", "params:diffusion"],
             outputs=["diffusion_gallery", "diffusion_metrics"], name="sample_gallery"),
    ])
    return collect + sum(models, Pipeline([])) + gallery
