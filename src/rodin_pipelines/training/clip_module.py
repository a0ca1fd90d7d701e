"""The domain CLIP as a Lightning system: contrastive image–caption training, where a caption
may describe several images of a batch (multi-positive form of open_clip's loss), after an
optional first phase that trains the image tower on attribute labels
(:mod:`~rodin_pipelines.training.attribute_pretraining`)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from rodin_pipelines.models.clip_loader import ClipChoice, load_clip
from rodin_pipelines.training.attribute_pretraining import AttributeHeads
from rodin_pipelines.training.multi_positive_loss import described_images, multi_positive_clip_loss
from rodin_pipelines.training.nonfinite import NonFiniteGuard


MAX_LOGIT_SCALE = math.log(100.0)
"""Upper bound of the learned log temperature (logits at most 100 x cosine), as in CLIP."""
MAX_NONFINITE_STEPS = 5
"""Non-finite steps in a row that stop the training."""


class DomainClipSystem(pl.LightningModule):
    """Trains a CLIP built from plain config (``ClipChoice`` fields), so checkpoints hold only
    tensors and numbers and load with ``weights_only=True``.

    Args:
        architecture / checkpoint: the :class:`ClipChoice` to start from.
        learning_rate / weight_decay: AdamW.
        hard_negative_weight: weight of the term that ranks each image's caption above its
            counterfactual (one attribute changed), added to open_clip's contrastive loss.
        data_fingerprint: hash of the training data (a rerun on other data retrains).
        attribute_pretraining_steps: the first steps train only the image tower, to classify
            ``pretraining_attributes``; the contrastive loss starts after them.
        pretraining_attributes: attribute names (see
            :func:`~rodin_pipelines.training.attribute_pretraining.class_counts_by_attribute`).
    """

    def __init__(self, architecture: str, checkpoint: str | None = None,
                 learning_rate: float = 3e-4, weight_decay: float = 0.1,
                 hard_negative_weight: float = 0.0, data_fingerprint: str = "",
                 attribute_pretraining_steps: int = 0,
                 pretraining_attributes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.save_hyperparameters()
        loaded = load_clip(ClipChoice(architecture, checkpoint))
        self.clip = loaded.model.train()
        # Kept beside the model (not in the checkpoint) so data can be prepared without
        # building a second CLIP.
        self.tokenizer = loaded.tokenizer
        self.image_size = loaded.image_size
        self.attribute_heads = (AttributeHeads(loaded.model.visual.output_dim,
                                               pretraining_attributes)
                                if attribute_pretraining_steps > 0 else None)
        # Not a hyperparameter: checkpoints of earlier runs keep resuming.
        self.nonfinite = NonFiniteGuard(
            MAX_NONFINITE_STEPS, "clip/nonfinite_steps_skipped",
            "lower encoder.training.learning_rate, or check the renders for NaN pixels")

    @classmethod
    def from_choice(cls, choice: ClipChoice, **optimiser: float) -> DomainClipSystem:
        return cls(**asdict(choice), **optimiser)

    def training_step(self, batch: tuple[Tensor, ...], batch_index: int) -> Tensor | None:
        """``batch``: images, tokens, negative tokens, has negative, avatar codes, text
        assertions, face visible, as :class:`~rodin_pipelines.training.clip_data.AvatarCaptionPairs`
        gives. A non-finite loss skips the step (``None``), :class:`NonFiniteGuard`."""
        loss = self.loss(batch)
        return loss if self.nonfinite.all_ranks_finite(self, loss) else None

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Step, then keep the temperature in range: as open_clip's training does, so the
        logits cannot grow until the softmax saturates and the loss overflows."""
        super().optimizer_step(*args, **kwargs)
        with torch.no_grad():
            self.clip.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)

    def loss(self, batch: tuple[Tensor, ...]) -> Tensor:
        """The loss of this step's phase (attribute pre-training, then contrastive)."""
        images, tokens, negative_tokens, has_negative, codes, assertions, face_visible = batch
        if self.global_step < self.hparams.attribute_pretraining_steps:
            return self.attribute_step(images, codes, face_visible)
        image_features = self.clip.encode_image(images, normalize=True)
        text_features = self.clip.encode_text(tokens, normalize=True)
        scale = self.clip.logit_scale.exp()
        positives = described_images(assertions, codes)
        loss = multi_positive_clip_loss(image_features, text_features, positives, scale)
        self.log("clip/contrastive_loss", loss.detach(), batch_size=len(images))
        self.log("clip/positives_per_text", positives.sum(1).float().mean(),
                 batch_size=len(images))
        if self.hparams.hard_negative_weight > 0:
            loss = loss + self.hard_negative_weight_term(image_features, text_features,
                                                         negative_tokens, has_negative, scale)
        self.log("clip/loss", loss, prog_bar=True, batch_size=len(images))
        return loss

    def attribute_step(self, images: Tensor, codes: Tensor, face_visible: Tensor) -> Tensor:
        """The curriculum's first phase: attribute classification by the image tower alone."""
        assert self.attribute_heads is not None
        loss, accuracy = self.attribute_heads.loss(self.clip.encode_image(images), codes,
                                                   face_visible)
        self.log("clip/attribute_loss", loss, prog_bar=True, batch_size=len(images))
        for name, value in accuracy.items():
            self.log(f"clip/attribute_accuracy/{name}", value, batch_size=len(images))
        return loss

    def hard_negative_weight_term(self, image_features: Tensor, text_features: Tensor,
                                  negative_tokens: Tensor, has_negative: Tensor,
                                  scale: Tensor) -> Tensor:
        """Weighted two-way cross-entropy: each image's caption vs its counterfactual."""
        if not bool(has_negative.any()):
            return image_features.new_zeros(())
        negatives = self.clip.encode_text(negative_tokens[has_negative], normalize=True)
        images = image_features[has_negative]
        logits = scale * torch.stack([(images * text_features[has_negative]).sum(-1),
                                      (images * negatives).sum(-1)], dim=-1)
        term = torch.nn.functional.cross_entropy(
            logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))
        self.log("clip/hard_negative_loss", term.detach(), batch_size=len(images))
        return self.hparams.hard_negative_weight * term

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate,
                                 weight_decay=self.hparams.weight_decay)
