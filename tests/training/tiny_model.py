"""A tiny LightningModule for trainer-factory tests (importable by spawned processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


class TinyRegression(pl.LightningModule):
    """y = 3x - 1 with per-rank noise: built from plain numbers, so checkpoints load with
    weights_only=True."""

    def __init__(self, learning_rate: float = 0.05, record: str | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(1, 1)
        self.first_step: int | None = None

    def training_step(self, batch, batch_index):
        if self.first_step is None:
            self.first_step = self.global_step
        x, y = batch
        noise = torch.randn_like(y) * 0.01  # differs across ranks: seeds are offset by rank
        loss = torch.nn.functional.mse_loss(self.layer(x), y + noise)
        self.log("train/loss", loss)
        if self.hparams.record:
            path = Path(self.hparams.record) / f"noise-rank{self.global_rank}.json"
            if not path.exists():
                path.write_text(json.dumps(noise.flatten().tolist()))
        return loss

    def train_dataloader(self) -> DataLoader:
        # Built inside each process: spawned DDP workers never receive tensors through
        # shared memory (small /dev/shm in containers).
        return regression_data()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.learning_rate)

    def on_train_end(self) -> None:
        if self.hparams.record:
            weights = torch.cat([p.detach().flatten() for p in self.parameters()])
            gathered = self.all_gather(weights)
            if self.global_rank == 0:
                spread = (gathered - gathered[0]).abs().max().item() if gathered.ndim > 1 else 0.0
                (Path(self.hparams.record) / "weights.json").write_text(json.dumps(
                    {"world_size": self.trainer.world_size, "max_rank_difference": spread,
                     "first_step": self.first_step, "global_step": self.global_step}))


def regression_data(batch_size: int = 8) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(256, 1, generator=generator)
    return DataLoader(TensorDataset(x, 3 * x - 1), batch_size=batch_size, shuffle=True,
                      generator=generator)
