"""Nodes of the ``encoder`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import open_clip
import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.datasets.avatar_folders import AvatarFolderReader
from rodin_pipelines.evaluation.clip_quality import retrieval_accuracy, zero_shot_accuracy
from rodin_pipelines.evaluation.figures import accuracy_chart
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views
from rodin_pipelines.models.clip_loader import ClipChoice, LoadedClip, load_clip
from rodin_pipelines.training.attribute_pretraining import AttributePretraining
from rodin_pipelines.training.clip_data import (
    AvatarCaptionPairs,
    CaptionSampling,
    augmentation_from_config,
)
from rodin_pipelines.training.clip_module import DomainClipSystem
from rodin_pipelines.training.data_fingerprint import data_fingerprint
from rodin_pipelines.training.phrase_captions import (
    ATTRIBUTE_PROMPTS,
    PRESENCE_PROMPTS,
    attribute_prompt,
    presence_label,
)
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably


def avatars_of_split(avatars: dict[str, AvatarFolderReader], index: pd.DataFrame,
                     split: str) -> dict[str, AvatarFolderReader]:
    ids = set(index.loc[index["split"] == split, "avatar_id"])
    return {i: reader for i, reader in avatars.items() if i in ids}


def train_domain_clip(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                      clip_avatars: dict[str, AvatarFolderReader],
                      clip_avatar_index: pd.DataFrame,
                      encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Contrastive training of the CLIP on the training avatars of the main and the CLIP-only
    set, after attribute pre-training of its image tower; returns its weights (heads left out)."""
    choice = ClipChoice(**encoder["clip"])
    training = encoder["training"]
    torch.manual_seed(encoder["seed"])
    pretraining = AttributePretraining(**training["attribute_pretraining"])
    system = DomainClipSystem(choice.architecture, choice.checkpoint,
                              learning_rate=training["learning_rate"],
                              hard_negative_weight=training["hard_negative_weight"],
                              attribute_pretraining_steps=pretraining.steps,
                              pretraining_attributes=pretraining.attributes)
    sampling = CaptionSampling(**training["sampling"],
                               hard_negatives=training["hard_negative_weight"] > 0)
    augmentation = augmentation_from_config(training["augmentation"])
    training_avatars = {**avatars_of_split(avatars, avatar_index, "train"),
                        **avatars_of_split(clip_avatars, clip_avatar_index, "train")}
    pairs = AvatarCaptionPairs(training_avatars, system.tokenizer, system.image_size,
                               augmentation, sampling)
    # Known only once the avatars are read; compared with the checkpoint's before resuming.
    system.hparams["data_fingerprint"] = data_fingerprint(
        f"{a.avatar_id}:{a.meta.get('fingerprint', '')}" for a in pairs.avatars)
    # What the data loader feeds and the architecture's config change what a checkpoint means.
    system.hparams["data_options"] = {
        "sampling": asdict(sampling), "batch_size": training["batch_size"],
        "augmentation": asdict(augmentation) if augmentation else None,
        "draw": "with_replacement"}
    system.hparams["model_config"] = open_clip.get_model_config(choice.architecture)
    settings = TrainerSettings(**training["trainer"], seed=encoder["seed"])
    # Drawn with replacement: an avatar twice in a batch is a positive of itself for the loss.
    loader = step_loader(pairs, training["batch_size"], settings.max_steps)
    trainer = build_trainer(settings, log_prefix="clip")
    fit_resumably(trainer, system, settings, train_dataloaders=loader)
    return {k: v.detach().cpu() for k, v in system.clip.state_dict().items()}


def loaded_clip(weights: dict[str, Tensor], encoder: dict[str, Any]) -> LoadedClip:
    clip = load_clip(ClipChoice(architecture=encoder["clip"]["architecture"]))
    clip.model.load_state_dict(weights)
    clip.model.eval()
    return clip


def embed_avatars(avatars: dict[str, AvatarFolderReader], clip_weights: dict[str, Tensor],
                  encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Per avatar ``(1 + extra, D)``: the frontal view's embedding first, then extra views'."""
    clip = loaded_clip(clip_weights, encoder)
    embeddings = {}
    for avatar_id in sorted(avatars):
        avatar = avatars[avatar_id]()
        frontal = avatar.frontal_index()
        others = [i for i in range(len(avatar.images)) if i != frontal]
        chosen = [frontal] + others[: encoder["embeddings"]["extra_views"]]
        embeddings[avatar_id] = embed_views(clip, avatar.images[chosen])
    return embeddings


def evaluate_clip(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                  clip_avatars: dict[str, AvatarFolderReader], clip_avatar_index: pd.DataFrame,
                  clip_weights: dict[str, Tensor], embeddings: dict[str, Tensor],
                  encoder: dict[str, Any]) -> dict[str, float]:
    """Retrieval and zero-shot attribute accuracy on the frontal views of the held-out avatars
    of both sets (the main set's from ``embeddings``, the CLIP-only set's embedded here)."""
    clip = loaded_clip(clip_weights, encoder)
    main = avatar_index[(avatar_index["split"] == "heldout")
                        & avatar_index["avatar_id"].isin(embeddings)]
    extra = clip_avatar_index[(clip_avatar_index["split"] == "heldout")
                              & clip_avatar_index["avatar_id"].isin(clip_avatars)]
    frontal = [embeddings[i][0] for i in main["avatar_id"]]
    if len(extra):
        views = [clip_avatars[i]() for i in extra["avatar_id"]]
        frontal += list(embed_views(clip, torch.stack([v.images[v.frontal_index()]
                                                       for v in views])))
    images = torch.stack(frontal)
    heldout = pd.concat([main, extra], ignore_index=True)
    every_index = pd.concat([avatar_index, clip_avatar_index], ignore_index=True)
    metrics = {f"retrieval_{k}": v for k, v in retrieval_accuracy(
        images, embed_texts(clip, heldout["caption"].tolist())).items()}
    for attribute in ATTRIBUTE_PROMPTS:
        values = sorted(set(every_index[attribute]))
        classes = embed_texts(clip, [attribute_prompt(attribute, v) for v in values])
        accuracy = zero_shot_accuracy(images, heldout[attribute].tolist(), classes, values)
        metrics[f"zero_shot_{attribute}"] = accuracy["accuracy"]
        metrics[f"zero_shot_{attribute}_balanced"] = accuracy["balanced_accuracy"]
        metrics[f"zero_shot_{attribute}_chance"] = 1.0 / len(values)
    for accessory, prompts in PRESENCE_PROMPTS.items():
        classes = embed_texts(clip, list(prompts.values()))
        labels = [presence_label(v) for v in heldout[accessory]]
        accuracy = zero_shot_accuracy(images, labels, classes, list(prompts))
        metrics[f"zero_shot_{accessory}_presence_balanced"] = accuracy["balanced_accuracy"]
        metrics[f"zero_shot_{accessory}_presence_balanced_chance"] = 1.0 / len(prompts)
    metrics["heldout_avatars"] = float(len(heldout))
    metrics["heldout_avatars_clip_set"] = float(len(extra))
    return metrics


def clip_quality_chart(metrics: dict[str, float]) -> np.ndarray:
    """The held-out retrieval and zero-shot accuracies of :func:`evaluate_clip` beside chance,
    as a picture ``(H, W, 3)`` uint8."""
    rows = {f"retrieval {direction.replace('_', ' ')}": (metrics[f"retrieval_{direction}_top1"],
                                                         metrics["retrieval_chance"])
            for direction in ("image_to_text", "text_to_image")}
    for attribute in ATTRIBUTE_PROMPTS:
        rows[f"{attribute.replace('_', ' ')} (balanced)"] = (
            metrics[f"zero_shot_{attribute}_balanced"], metrics[f"zero_shot_{attribute}_chance"])
    for accessory in PRESENCE_PROMPTS:
        key = f"zero_shot_{accessory}_presence_balanced"
        rows[f"{accessory} vs none (balanced)"] = (metrics[key], metrics[f"{key}_chance"])
    return accuracy_chart(rows, title=f"domain CLIP on {int(metrics['heldout_avatars'])} "
                                      "held-out avatars' frontal views")
