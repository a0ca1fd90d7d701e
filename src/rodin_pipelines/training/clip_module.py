"""The domain CLIP as a Lightning system: contrastive image–caption training (open_clip's loss)."""

from __future__ import annotations

from dataclasses import asdict

import pytorch_lightning as pl
import torch
from open_clip.loss import ClipLoss
from torch import Tensor

from rodin_pipelines.models.clip_loader import ClipChoice, load_clip


class DomainClipSystem(pl.LightningModule):
    """Trains a CLIP built from plain config (``ClipChoice`` fields), so checkpoints hold only
    tensors and numbers and load with ``weights_only=True``.

    Args:
        architecture / checkpoint: the :class:`ClipChoice` to start from.
        learning_rate / weight_decay: AdamW.
    """

    def __init__(self, architecture: str, checkpoint: str | None = None,
                 learning_rate: float = 3e-4, weight_decay: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        loaded = load_clip(ClipChoice(architecture, checkpoint))
        self.clip = loaded.model.train()
        # Kept beside the model (not in the checkpoint) so data can be prepared without
        # building a second CLIP.
        self.tokenizer = loaded.tokenizer
        self.image_size = loaded.image_size
        self.loss = ClipLoss()

    @classmethod
    def from_choice(cls, choice: ClipChoice, **optimiser: float) -> DomainClipSystem:
        return cls(**asdict(choice), **optimiser)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_index: int) -> Tensor:
        images, tokens = batch
        image_features = self.clip.encode_image(images, normalize=True)
        text_features = self.clip.encode_text(tokens, normalize=True)
        loss = self.loss(image_features, text_features, self.clip.logit_scale.exp())
        self.log("clip/loss", loss, prog_bar=True, batch_size=len(images))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate,
                                 weight_decay=self.hparams.weight_decay)
