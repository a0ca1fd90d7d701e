"""Training the embedding prior (text or nothing → CLIP image embedding e), resumably."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.diffusion.embedding_prior_sampling import (
    embedding_statistics,
    prior_tensors,
    standardise,
)
from rodin_pipelines.diffusion.networks import prior_network_config
from rodin_pipelines.fingerprints import data_fingerprint
from rodin_pipelines.training.diffusion_module import DiffusionSystem, ema_weights
from rodin_pipelines.training.prior_data import EmbeddingTextPairs
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably


def train_prior(avatar_embeddings: dict[str, Tensor], caption_embeddings: dict[str, Tensor],
                train_ids: list[str], prior: dict[str, Any], seed: int) -> dict[str, Tensor]:
    """Train the prior on the frontal embeddings of ``train_ids`` (each with its caption
    embeddings ``(K, D_text)``); returns the file's tensors: EMA weights + statistics.

    ``prior`` is the ``encoder.prior`` parameter block.
    """
    frontal = torch.stack([avatar_embeddings[i][0] for i in train_ids])
    statistics = embedding_statistics(frontal)
    pairs = EmbeddingTextPairs(standardise(frontal, statistics),
                               [caption_embeddings[i] for i in train_ids])
    torch.manual_seed(seed)
    text_dim = caption_embeddings[train_ids[0]].shape[-1]
    fingerprint = data_fingerprint([*train_ids, frontal,
                                    *(caption_embeddings[i] for i in train_ids)])
    system = DiffusionSystem(prior_network_config(prior, frontal.shape[-1], text_dim),
                             **prior["diffusion"], data_fingerprint=fingerprint)
    settings = TrainerSettings(**prior["trainer"], seed=seed)
    loader = step_loader(pairs, prior["batch_size"], settings.max_steps)
    trainer = build_trainer(settings, log_prefix="prior")
    fit_resumably(trainer, system, settings, train_dataloaders=loader)
    return prior_tensors(ema_weights(system), statistics)
