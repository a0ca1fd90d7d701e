"""Nodes of the ``evaluate`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.evaluation.evaluation_set import (
    Triplanes,
    compared_renders,
    evaluation_set,
    scores_against_real,
)
from rodin_pipelines.evaluation.figures import score_chart
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.evaluation.memorisation import memorisation_report
from rodin_pipelines.evaluation.showcase import showcase_samples
from rodin_pipelines.generation.outputs import GeneratedAvatar
from rodin_pipelines.models.clip_embeddings import embed_views
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.rendering.contact_sheet import gallery_rows
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit


def evaluate_generation(embedding_prior: dict[str, Tensor], base_model_weights: dict[str, Tensor],
                        upsampler_model_weights: dict[str, Tensor],
                        plane_statistics: PlaneStatistics, shared_decoder: SharedDecoderFit,
                        triplanes: Triplanes, avatars: dict[str, AvatarFolderReader],
                        avatar_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                        clip_weights: dict[str, Tensor], encoder: dict[str, Any],
                        diffusion: dict[str, Any], render: dict[str, Any],
                        evaluate: dict[str, Any]
                        ) -> tuple[dict[str, float], np.ndarray, np.ndarray,
                                   dict[str, GeneratedAvatar], np.ndarray, dict[str, Any]]:
    """Unconditional samples (prior → cascade) vs held-out renders; baselines and the guidance
    ablation beside them; a few samples as renders, turntables and meshes; the renders
    (``real``, ``ours``, ``gaussian``, ``fitted_heldout``, ``fitted_train``) and showcase meshes
    for the generation benchmark."""
    settings = SamplingSettings(**{**diffusion["sampling"], **evaluate["sampling"]})
    chosen = evaluation_set(embedding_prior, triplanes, avatars, avatar_index, encoder, settings,
                            evaluate)
    train_ids = split_ids(avatar_index, "train", avatar_embeddings)
    count, views = evaluate["samples"], evaluate["views_per_avatar"]
    training_planes = [triplanes[i]()[0] for i in split_ids(avatar_index, "train", triplanes)]
    decoder = shared_decoder.decoder
    generated, renders = compared_renders(base_model_weights, upsampler_model_weights,
                                          plane_statistics, diffusion, chosen, settings,
                                          training_planes, decoder, evaluate)
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    metrics: dict[str, float] = {
        "samples": float(count), "seed": float(evaluate["seed"]),
        "nfe_base": float(settings.base_steps), "nfe_upsampler": float(settings.upsampler_steps),
        "guidance_scale": float(settings.guidance_scale), "real_images": float(len(chosen.real)),
        "views_per_avatar": float(views),
        **scores_against_real(chosen.real, renders, ClipImageFeatures(clip), evaluate),
    }
    frontal = renders["ours"][::views]  # (N, H, W, 4): each sample's frontal view
    memorisation, grid = memorisation_report(
        frontal, embed_views(clip, frontal),
        torch.stack([avatar_embeddings[i][0] for i in train_ids]), train_ids,
        lambda i: (a := avatars[i]()).images[a.frontal_index()],
        evaluate["memorisation_rows"], evaluate["scale"])
    metrics.update(memorisation)
    gallery = gallery_rows({"ours": frontal[: evaluate["gallery_columns"]],
                            "gaussian": renders["gaussian"][::views][: evaluate["gallery_columns"]],
                            "held-out truth": chosen.real[::views][: evaluate["gallery_columns"]]},
                           scale=evaluate["scale"])
    showcase = showcase_samples(generated[: evaluate["showcase"]["samples"]], decoder, render,
                                evaluate, settings)
    chart = score_chart(metrics, title=f"{count} samples x {views} views vs "
                                       f"{len(chosen.real)} held-out images; seed "
                                       f"{evaluate['seed']}, NFE {settings.base_steps}+"
                                       f"{settings.upsampler_steps}")
    compared = ("ours", "gaussian", "fitted_heldout", "fitted_train")
    distribution = {"renders": {"real": chosen.real, **{name: renders[name] for name in compared}},
                    "meshes": [s.mesh for s in showcase.values() if s.mesh is not None]}
    return metrics, gallery, grid, showcase, chart, distribution
