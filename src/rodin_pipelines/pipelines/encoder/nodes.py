"""Nodes of the ``encoder`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from rodin_pipelines.datasets.avatar_folders import AvatarFolderReader
from rodin_pipelines.evaluation.clip_quality import retrieval_accuracy, zero_shot_accuracy
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views
from rodin_pipelines.models.clip_loader import ClipChoice, LoadedClip, load_clip
from rodin_pipelines.training.clip_data import AvatarCaptionPairs
from rodin_pipelines.training.clip_module import DomainClipSystem
from rodin_pipelines.training.data_fingerprint import data_fingerprint
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably

ZERO_SHOT_PROMPTS = {
    "hair_colour": "a person with {} hair",
    "clothing_colour": "a person in a {} shirt",
    "glasses": "a person with {} glasses",
    "hat": "a person wearing a {}",
}
"""Prompt per attribute for zero-shot accuracy, worded like the captions; an absent accessory
("none") is prompted as plain "a person", since captions never mention what is not there."""

ABSENT = "none"


def zero_shot_prompt(attribute: str, value: str) -> str:
    """The class prompt of ``value`` of ``attribute`` (``top_hat`` → "a person wearing a top hat")."""
    if value == ABSENT:
        return "a person"
    return ZERO_SHOT_PROMPTS[attribute].format(value.replace("_", " "))


def avatars_of_split(avatars: dict[str, AvatarFolderReader], index: pd.DataFrame,
                     split: str) -> dict[str, AvatarFolderReader]:
    ids = set(index.loc[index["split"] == split, "avatar_id"])
    return {i: reader for i, reader in avatars.items() if i in ids}


def train_domain_clip(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                      encoder: dict[str, Any]) -> dict[str, Tensor]:
    """Contrastive training of the CLIP on the training avatars; returns its weights."""
    choice = ClipChoice(**encoder["clip"])
    training = encoder["training"]
    torch.manual_seed(encoder["seed"])
    system = DomainClipSystem(choice.architecture, choice.checkpoint,
                              learning_rate=training["learning_rate"],
                              hard_negative_weight=training["hard_negative_weight"])
    pairs = AvatarCaptionPairs(avatars_of_split(avatars, avatar_index, "train"),
                               system.tokenizer, system.image_size,
                               frontal_probability=training["frontal_probability"],
                               hard_negatives=training["hard_negative_weight"] > 0)
    # Known only once the avatars are read; compared with the checkpoint's before resuming.
    system.hparams["data_fingerprint"] = data_fingerprint(
        f"{a.avatar_id}:{a.meta.get('fingerprint', '')}" for a in pairs.avatars)
    loader = DataLoader(pairs, batch_size=min(training["batch_size"], len(pairs)), shuffle=True,
                        drop_last=True)
    settings = TrainerSettings(**training["trainer"], seed=encoder["seed"])
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
                  clip_weights: dict[str, Tensor], embeddings: dict[str, Tensor],
                  encoder: dict[str, Any]) -> dict[str, float]:
    """Retrieval and zero-shot attribute accuracy on the held-out avatars' frontal views."""
    clip = loaded_clip(clip_weights, encoder)
    heldout = avatar_index[avatar_index["split"] == "heldout"]
    heldout = heldout[heldout["avatar_id"].isin(embeddings)]
    images = torch.stack([embeddings[i][0] for i in heldout["avatar_id"]])
    metrics = {f"retrieval_{k}": v for k, v in retrieval_accuracy(
        images, embed_texts(clip, heldout["caption"].tolist())).items()}
    for attribute in ZERO_SHOT_PROMPTS:
        values = sorted(set(avatar_index[attribute]))
        classes = embed_texts(clip, [zero_shot_prompt(attribute, v) for v in values])
        accuracy = zero_shot_accuracy(images, heldout[attribute].tolist(), classes, values)
        metrics[f"zero_shot_{attribute}"] = accuracy
        metrics[f"zero_shot_{attribute}_chance"] = 1.0 / len(values)
    metrics["heldout_avatars"] = float(len(heldout))
    return metrics
