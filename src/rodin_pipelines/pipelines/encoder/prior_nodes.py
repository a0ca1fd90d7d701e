"""Nodes of the ``encoder`` stage that train and evaluate the prior (text/nothing → e)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.diffusion.networks import load_prior
from rodin_pipelines.evaluation.prior_quality import prior_sample_metrics, prompt_attribute_metrics
from rodin_pipelines.models.clip_embeddings import embed_texts
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.training.prior_training import train_prior as train_embedding_prior


def embed_captions(avatars: dict[str, AvatarFolderReader], clip_weights: dict[str, Tensor],
                   encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Per avatar ``(K, D)`` unit text embeddings of its caption and paraphrases."""
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    captions = {i: avatars[i]().captions for i in sorted(avatars)}
    return {i: embed_texts(clip, texts) for i, texts in captions.items() if texts}


def train_prior(avatar_embeddings: dict[str, Tensor], caption_embeddings: dict[str, Tensor],
                avatar_index: pd.DataFrame, encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Train the prior on training avatars' frontal embeddings; EMA weights + statistics."""
    train_ids = [i for i in avatar_index.loc[avatar_index["split"] == "train", "avatar_id"]
                 if i in avatar_embeddings and i in caption_embeddings]
    return train_embedding_prior(avatar_embeddings, caption_embeddings, train_ids,
                                 encoder["prior"], encoder["seed"])


def evaluate_prior(prior_file: dict[str, Tensor], avatar_embeddings: dict[str, Tensor],
                   caption_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                   clip_weights: dict[str, Tensor], encoder: dict[str, Any]) -> dict[str, float]:
    """Unconditional Fréchet distances, prompt → attribute accuracy, caption → avatar retrieval."""
    denoiser, statistics = load_prior(prior_file, encoder["prior"])
    sampling = encoder["prior"]["sampling"]
    evaluation = encoder["prior"]["evaluation"]
    known = avatar_index[avatar_index["avatar_id"].isin(avatar_embeddings)]
    train = known[known["split"] == "train"]
    heldout = known[known["split"] == "heldout"]
    metrics = prior_sample_metrics(denoiser, statistics, avatar_embeddings, caption_embeddings,
                                   list(train["avatar_id"]), list(heldout["avatar_id"]),
                                   sampling, evaluation)
    # Loaded after the side-view Gaussian's draws: building the CLIP consumes torch's global
    # generator, which those draws read.
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    metrics.update(prompt_attribute_metrics(denoiser, statistics, clip, avatar_embeddings, train,
                                            sampling, evaluation))
    return metrics
