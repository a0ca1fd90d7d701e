"""Nodes of the ``ablations`` stage: the diffusion models retrained with one change (3D-aware
convolution off), then both cascades sampled for the same latents and scored against the same
held-out renders."""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.configuration import merged
from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.evaluation.evaluation_set import (
    Triplanes,
    cascade_samples,
    evaluation_set,
    scores_against_real,
)
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.evaluation.sample_renders import render_like_heldout
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.diffusion_training import train_diffusion_model
from rodin_pipelines.training.triplane_diffusion_data import TriplaneExample
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit


def train_ablation_model(examples: list[TriplaneExample], plane_statistics: PlaneStatistics,
                         shared_decoder: SharedDecoderFit, model: dict[str, Any],
                         changes: dict[str, Any], diffusion: dict[str, Any],
                         progress_folder: str, render: dict[str, Any]) -> dict[str, Tensor]:
    """The diffusion stage's training with ``changes`` to the model's parameters (its own
    checkpoints and progress galleries)."""
    gallery = {**diffusion["gallery"], "progress_folder": progress_folder}
    return train_diffusion_model(examples, plane_statistics, shared_decoder,
                                 merged(model, changes), {**diffusion, "gallery": gallery},
                                 render)


def score_ablation(embedding_prior: dict[str, Tensor], base_model_weights: dict[str, Tensor],
                   upsampler_model_weights: dict[str, Tensor],
                   ablation_base_weights: dict[str, Tensor],
                   ablation_upsampler_weights: dict[str, Tensor],
                   plane_statistics: PlaneStatistics, shared_decoder: SharedDecoderFit,
                   triplanes: Triplanes, avatars: dict[str, AvatarFolderReader],
                   avatar_index: pd.DataFrame, clip_weights: dict[str, Tensor],
                   encoder: dict[str, Any], diffusion: dict[str, Any],
                   ablation: dict[str, Any], evaluate: dict[str, Any]) -> dict[str, float]:
    """FID/KID on CLIP features of ours and of the ablation, same latents, seed and renders as
    the evaluate stage."""
    settings = SamplingSettings(**{**diffusion["sampling"], **evaluate["sampling"]})
    chosen = evaluation_set(embedding_prior, triplanes, avatars, avatar_index, encoder, settings,
                            evaluate)
    ablated = {**diffusion, **{name: merged(diffusion[name], ablation[name])
                               for name in ("base", "upsampler")}}
    render = VolumeRenderSettings(**evaluate["render"])
    renders = {}
    for name, weights, config in (
            ("ours", (base_model_weights, upsampler_model_weights), diffusion),
            ("no_aware_conv", (ablation_base_weights, ablation_upsampler_weights), ablated)):
        planes = cascade_samples(*weights, plane_statistics, config, chosen, settings,
                                 evaluate["seed"])
        renders[name] = render_like_heldout(planes, shared_decoder.decoder, chosen.cameras,
                                            render)
    features = ClipImageFeatures(load_trained_clip(clip_weights,
                                                    encoder["clip"]["architecture"]))
    return {"samples": float(len(chosen.latents)), "seed": float(evaluate["seed"]),
            "nfe_base": float(settings.base_steps),
            "nfe_upsampler": float(settings.upsampler_steps),
            "guidance_scale": float(settings.guidance_scale),
            **scores_against_real(chosen.real, renders, features, evaluate)}
