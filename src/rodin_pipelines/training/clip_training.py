"""Training the domain CLIP: attribute pre-training of its image tower, then contrastive
training on image–caption pairs of the training avatars, resumably."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import open_clip
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarViews
from rodin_pipelines.models.clip_loader import ClipChoice
from rodin_pipelines.training.attribute_pretraining import AttributePretraining
from rodin_pipelines.training.clip_data import (
    AvatarCaptionPairs,
    CaptionSampling,
    augmentation_from_config,
)
from rodin_pipelines.training.clip_module import DomainClipSystem
from rodin_pipelines.fingerprints import data_fingerprint
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably


def train_domain_clip(training_avatars: dict[str, Callable[[], AvatarViews]], choice: ClipChoice,
                      training: dict[str, Any], seed: int) -> dict[str, Tensor]:
    """Contrastive training of the CLIP ``choice`` on ``training_avatars``, after attribute
    pre-training of its image tower; returns its weights (heads left out).

    ``training`` is the ``encoder.training`` parameter block.
    """
    torch.manual_seed(seed)
    pretraining = AttributePretraining(**training["attribute_pretraining"])
    system = DomainClipSystem(choice.architecture, choice.checkpoint,
                              learning_rate=training["learning_rate"],
                              hard_negative_weight=training["hard_negative_weight"],
                              attribute_pretraining_steps=pretraining.steps,
                              pretraining_attributes=pretraining.attributes)
    sampling = CaptionSampling(**training["sampling"],
                               hard_negatives=training["hard_negative_weight"] > 0)
    augmentation = augmentation_from_config(training["augmentation"])
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
    settings = TrainerSettings(**training["trainer"], seed=seed)
    # Drawn with replacement: an avatar twice in a batch is a positive of itself for the loss.
    loader = step_loader(pairs, training["batch_size"], settings.max_steps)
    trainer = build_trainer(settings, log_prefix="clip")
    fit_resumably(trainer, system, settings, train_dataloaders=loader)
    return {k: v.detach().cpu() for k, v in system.clip.state_dict().items()}
