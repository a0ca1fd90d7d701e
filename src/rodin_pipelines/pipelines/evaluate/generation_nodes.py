"""Nodes of the generation benchmark (part of ``evaluate``): train the independent judge on the
training avatars' renders, then score samples for every condition against it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.evaluation.attribute_judge import (AttributeJudge, judge_members,
                                                        train_attribute_judge)
from rodin_pipelines.evaluation.attribute_network import attribute_accuracy, predict_attributes
from rodin_pipelines.evaluation.attribute_views import joined_views, labelled_views
from rodin_pipelines.evaluation.generation_benchmark import with_judge
from rodin_pipelines.evaluation.generation_report import (BenchmarkSettings, GenerationReport,
                                                          frontal_camera_of, generation_report,
                                                          heldout_avatars)
from rodin_pipelines.generation.generator import load_generation_models
from rodin_pipelines.generation.sources import portrait_image
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit


def train_judge(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                clip_avatars: dict[str, AvatarFolderReader], clip_avatar_index: pd.DataFrame,
                evaluate: dict[str, Any]) -> tuple[AttributeJudge, dict[str, float]]:
    """The judge (:mod:`~rodin_pipelines.evaluation.attribute_judge`) trained on every view of
    the training avatars of both sets (the main set and the CLIP-only set: more avatars, less
    memorising of each); its accuracy on the
    held-out avatars' frontal views of each set (its scores mean something only where that is
    high; the CLIP-only set's 100 say it with less noise than the main set's 24). No held-out
    avatar of either set is trained on."""
    judge = evaluate["attribute_network"]
    views = joined_views([
        labelled_views(readers, split_ids(index, "train", readers),
                       face_visible_degrees=judge["face_visible_degrees"])
        for readers, index in ((avatars, avatar_index), (clip_avatars, clip_avatar_index))])
    network, logs = train_attribute_judge(views.images, views.labels, judge_members(judge),
                                          judge["seed"], avatar=views.avatar)
    metrics = {}
    for prefix, readers, index in (("judge_heldout_accuracy", avatars, avatar_index),
                                   ("judge_clip_heldout_accuracy", clip_avatars,
                                    clip_avatar_index)):
        heldout_ids = split_ids(index, "heldout", readers)
        if not heldout_ids:
            continue
        heldout = labelled_views(readers, heldout_ids,
                                 frame_splits=("frontal",),
                                 face_visible_degrees=judge["face_visible_degrees"])
        accuracy = attribute_accuracy(predict_attributes(network, heldout.images),
                                      heldout.labels)
        metrics.update({f"{prefix}_{name}": value for name, value in accuracy.items()})
    metrics.update(judge_training_views=float(len(views.images)),
                   judge_final_loss=sum(log[-1]["loss"] for log in logs))
    return network, metrics


def benchmark_generation(embedding_prior: dict[str, Tensor], base_model_weights: dict[str, Tensor],
                         upsampler_model_weights: dict[str, Tensor],
                         plane_statistics: PlaneStatistics, shared_decoder: SharedDecoderFit,
                         avatars: dict[str, AvatarFolderReader],
                         avatar_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                         clip_weights: dict[str, Tensor], judge: AttributeJudge,
                         judge_metrics: dict[str, float], evaluation_outputs: dict[str, Any],
                         encoder: dict[str, Any],
                         diffusion: dict[str, Any], render: dict[str, Any], fit: dict[str, Any],
                         evaluate: dict[str, Any]) -> tuple[dict[str, float], GenerationReport]:
    """``metrics/generation.json`` and the report folder behind it."""
    heldout_ids = split_ids(avatar_index, "heldout", avatar_embeddings)
    camera = frontal_camera_of(avatars[heldout_ids[0]])
    models = with_judge(load_generation_models(
        embedding_prior, base_model_weights, upsampler_model_weights, plane_statistics,
        shared_decoder, avatar_embeddings, clip_weights, encoder, diffusion, fit), judge)
    train_frontals = torch.stack([(a := avatars[i]()).images[a.frontal_index()]
                                  for i in split_ids(avatar_index, "train", avatars)])
    report = generation_report(
        models, heldout_avatars(avatars, heldout_ids, avatar_embeddings),
        portrait_image("astronaut", int(camera.width)), camera,
        CameraRig(**render["camera_rig"]), train_frontals, evaluation_outputs["renders"],
        evaluation_outputs["meshes"], BenchmarkSettings.from_config(diffusion, encoder, evaluate))
    return {**judge_metrics, **report.metrics}, report
