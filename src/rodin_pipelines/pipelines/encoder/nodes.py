"""Nodes of the ``encoder`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.evaluation.clip_quality import clip_quality_chart, clip_quality_metrics
from rodin_pipelines.models.clip_embeddings import embed_avatars as embed_avatar_views
from rodin_pipelines.models.clip_embeddings import embed_near_frontal_views, embed_views
from rodin_pipelines.models.clip_loader import ClipChoice, load_trained_clip
from rodin_pipelines.training.clip_training import train_domain_clip as train_clip

__all__ = ["clip_quality_chart", "embed_avatars", "embed_near_frontal", "evaluate_clip",
           "train_domain_clip"]


def avatars_of_split(avatars: dict[str, AvatarFolderReader], index: pd.DataFrame,
                     split: str) -> dict[str, AvatarFolderReader]:
    ids = set(index.loc[index["split"] == split, "avatar_id"])
    return {i: reader for i, reader in avatars.items() if i in ids}


def train_domain_clip(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                      clip_avatars: dict[str, AvatarFolderReader],
                      clip_avatar_index: pd.DataFrame,
                      encoder: dict[str, Any]) -> dict[str, Tensor]:
    """The CLIP trained on the training avatars of the main and the CLIP-only set."""
    training_avatars = {**avatars_of_split(avatars, avatar_index, "train"),
                        **avatars_of_split(clip_avatars, clip_avatar_index, "train")}
    return train_clip(training_avatars, ClipChoice(**encoder["clip"]), encoder["training"],
                      encoder["seed"])


def embed_avatars(avatars: dict[str, AvatarFolderReader], clip_weights: dict[str, Tensor],
                  encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Per avatar ``(1 + extra, D)``: the frontal view's embedding first, then extra views'."""
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    return embed_avatar_views(avatars, clip, encoder["embeddings"]["extra_views"])


def embed_near_frontal(avatars: dict[str, AvatarFolderReader], clip_weights: dict[str, Tensor],
                       encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Per avatar ``(K, D)``: its near-frontal views' embeddings (other latents of the same
    avatar, for the diffusion stage's ``view_latent_probability``)."""
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    near = encoder["embeddings"]["near_frontal"]
    return embed_near_frontal_views(avatars, clip, near["max_azimuth_degrees"],
                                    near["max_elevation_degrees"])


def evaluate_clip(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                  clip_avatars: dict[str, AvatarFolderReader], clip_avatar_index: pd.DataFrame,
                  clip_weights: dict[str, Tensor], embeddings: dict[str, Tensor],
                  encoder: dict[str, Any]) -> dict[str, float]:
    """Retrieval and zero-shot attribute accuracy on the frontal views of the held-out avatars
    of both sets (the main set's from ``embeddings``, the CLIP-only set's embedded here)."""
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    main = avatar_index[(avatar_index["split"] == "heldout")
                        & avatar_index["avatar_id"].isin(embeddings)]
    extra = clip_avatar_index[(clip_avatar_index["split"] == "heldout")
                              & clip_avatar_index["avatar_id"].isin(clip_avatars)]
    frontal = [embeddings[i][0] for i in main["avatar_id"]]
    if len(extra):
        views = [clip_avatars[i]() for i in extra["avatar_id"]]
        frontal += list(embed_views(clip, torch.stack([v.images[v.frontal_index()]
                                                       for v in views])))
    heldout = pd.concat([main, extra], ignore_index=True)
    every_index = pd.concat([avatar_index, clip_avatar_index], ignore_index=True)
    metrics = clip_quality_metrics(clip, torch.stack(frontal), heldout, every_index)
    metrics["heldout_avatars"] = float(len(heldout))
    metrics["heldout_avatars_clip_set"] = float(len(extra))
    return metrics
