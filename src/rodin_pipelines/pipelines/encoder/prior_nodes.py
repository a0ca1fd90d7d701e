"""Nodes of the ``encoder`` stage that train and evaluate the prior (text/nothing → e)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.datasets.avatar_folders import AvatarFolderReader
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.embedding_prior_sampling import (
    embedding_statistics,
    prior_tensors,
    sample_embeddings,
    split_prior_tensors,
    standardise,
)
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.evaluation.prior_quality import attribute_prompt_accuracy, caption_retrieval
from rodin_pipelines.instantiation import build_from_config
from rodin_pipelines.models.clip_embeddings import embed_texts
from rodin_pipelines.pipelines.encoder.nodes import loaded_clip
from rodin_pipelines.training.phrase_captions import attribute_prompt
from rodin_pipelines.training.data_fingerprint import data_fingerprint
from rodin_pipelines.training.diffusion_module import DiffusionSystem, ema_weights
from rodin_pipelines.training.prior_data import EmbeddingTextPairs
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably


def embed_captions(avatars: dict[str, AvatarFolderReader], clip_weights: dict[str, Tensor],
                   encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Per avatar ``(K, D)`` unit text embeddings of its caption and paraphrases."""
    clip = loaded_clip(clip_weights, encoder)
    captions = {i: avatars[i]().captions for i in sorted(avatars)}
    return {i: embed_texts(clip, texts) for i, texts in captions.items() if texts}


def network_config(prior: dict[str, Any], image_dim: int, text_dim: int) -> dict[str, Any]:
    return {**prior["network"], "embedding_dim": image_dim, "text_dim": text_dim}


def train_prior(avatar_embeddings: dict[str, Tensor], caption_embeddings: dict[str, Tensor],
                avatar_index: pd.DataFrame, encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Train the prior on training avatars' frontal embeddings; EMA weights + statistics."""
    prior = encoder["prior"]
    train_ids = [i for i in avatar_index.loc[avatar_index["split"] == "train", "avatar_id"]
                 if i in avatar_embeddings and i in caption_embeddings]
    frontal = torch.stack([avatar_embeddings[i][0] for i in train_ids])
    statistics = embedding_statistics(frontal)
    pairs = EmbeddingTextPairs(standardise(frontal, statistics),
                               [caption_embeddings[i] for i in train_ids])
    torch.manual_seed(encoder["seed"])
    text_dim = caption_embeddings[train_ids[0]].shape[-1]
    fingerprint = data_fingerprint([*train_ids, frontal,
                                    *(caption_embeddings[i] for i in train_ids)])
    system = DiffusionSystem(network_config(prior, frontal.shape[-1], text_dim),
                             **prior["diffusion"], data_fingerprint=fingerprint)
    settings = TrainerSettings(**prior["trainer"], seed=encoder["seed"])
    loader = step_loader(pairs, prior["batch_size"], settings.max_steps)
    trainer = build_trainer(settings, log_prefix="prior")
    fit_resumably(trainer, system, settings, train_dataloaders=loader)
    return prior_tensors(ema_weights(system), statistics)


def load_prior(prior_file: dict[str, Tensor], encoder: dict[str, Any]) -> tuple[Denoiser, dict]:
    """The prior's EMA denoiser and its embedding statistics, from the stored tensors."""
    weights, statistics = split_prior_tensors(prior_file)
    prior = encoder["prior"]
    image_dim = statistics["mean"].numel()
    text_dim = weights["text_head.0.weight"].shape[1] if "text_head.0.weight" in weights else 0
    network = build_from_config(network_config(prior, image_dim, text_dim))
    network.load_state_dict(weights)
    network.eval()
    schedule = NoiseSchedule(ScheduleSettings(**prior["diffusion"]["schedule"]))
    return Denoiser(network, schedule, prior["diffusion"]["parameterisation"]), statistics


def evaluate_prior(prior_file: dict[str, Tensor], avatar_embeddings: dict[str, Tensor],
                   caption_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                   clip_weights: dict[str, Tensor], encoder: dict[str, Any]) -> dict[str, float]:
    """Unconditional Fréchet distances, prompt → attribute accuracy, caption → avatar retrieval."""
    denoiser, statistics = load_prior(prior_file, encoder)
    sampling = encoder["prior"]["sampling"]
    evaluation = encoder["prior"]["evaluation"]
    known = avatar_index[avatar_index["avatar_id"].isin(avatar_embeddings)]
    train = known[known["split"] == "train"]
    heldout = known[known["split"] == "heldout"]
    frontal = torch.stack([avatar_embeddings[i][0] for i in train["avatar_id"]])
    side = torch.cat([avatar_embeddings[i][1:] for i in train["avatar_id"]])
    count = evaluation["samples"]
    samples = sample_embeddings(denoiser, statistics, count, sampler=sampling["sampler"],
                                steps=sampling["steps"], seed=evaluation["seed"])
    wrong = torch.distributions.MultivariateNormal(
        side.mean(0), torch.cov(side.T) + 1e-6 * torch.eye(side.shape[1])).sample((count,))
    metrics = {
        "frechet_samples_vs_train": frechet_distance(samples, frontal),
        "frechet_side_view_gaussian_vs_train": frechet_distance(wrong, frontal),
        "samples": float(count),
        "sampling_steps": float(sampling["steps"]),
        "guidance_scale": float(sampling["guidance_scale"]),
    }
    if len(heldout) >= 2:
        heldout_frontal = torch.stack([avatar_embeddings[i][0] for i in heldout["avatar_id"]])
        metrics["frechet_heldout_vs_train"] = frechet_distance(heldout_frontal, frontal)
        texts = torch.stack([caption_embeddings[i][0] for i in heldout["avatar_id"]])
        prompted = sample_embeddings(denoiser, statistics, len(heldout), texts=texts,
                                     sampler=sampling["sampler"], steps=sampling["steps"],
                                     guidance_scale=sampling["guidance_scale"],
                                     seed=evaluation["seed"])
        metrics.update(caption_retrieval(prompted, heldout_frontal))
    clip = loaded_clip(clip_weights, encoder)
    for attribute in evaluation["attributes"]:
        values = sorted(set(train[attribute]))
        prompts = embed_texts(clip, [attribute_prompt(attribute, v) for v in values])
        per_value = [sample_embeddings(denoiser, statistics, evaluation["samples_per_prompt"],
                                       texts=prompts[k:k + 1], sampler=sampling["sampler"],
                                       steps=sampling["steps"],
                                       guidance_scale=sampling["guidance_scale"],
                                       seed=evaluation["seed"] + k) for k in range(len(values))]
        accuracy = attribute_prompt_accuracy(per_value, frontal, train[attribute].tolist(), values)
        metrics[f"prompt_{attribute}_accuracy"] = accuracy["accuracy"]
        metrics[f"prompt_{attribute}_cosine_margin"] = accuracy["cosine_margin"]
        metrics[f"prompt_{attribute}_chance"] = 1.0 / len(values)
    return metrics

