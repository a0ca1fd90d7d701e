"""A tiny tri-plane diffusion training, run in subprocesses (kill/resume) and DDP workers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset

from rodin_pipelines.training.diffusion_module import DEFAULT_OPTIMISER, DiffusionSystem
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably

CHANNELS, RESOLUTION, LATENT = 4, 8, 6


def tiny_unet() -> dict:
    return {"_target_": "rodin_pipelines.models.rollout_unet.RollOutUNet",
            "in_channels": CHANNELS, "out_channels": CHANNELS, "resolution": RESOLUTION,
            "model_channels": 16, "channel_mult": [1, 2], "num_res_blocks": 1,
            "attention_resolutions": [4], "aware_levels": [0], "norm_groups": 8,
            "latent_dim": LATENT}


class SmoothTriplanes(Dataset):
    """A few smooth random roll-outs ``(C, R, 3R)`` with latents ``(D,)``."""

    def __init__(self, count: int = 4, poison_steps: tuple[int, ...] = ()) -> None:
        generator = torch.Generator().manual_seed(0)
        coarse = torch.randn(count, CHANNELS, RESOLUTION // 4, 3 * RESOLUTION // 4,
                             generator=generator)
        self.x0 = torch.nn.functional.interpolate(coarse, scale_factor=4, mode="bilinear")
        self.x0 = self.x0 / self.x0.std()
        self.latent = torch.randn(count, LATENT, generator=generator)

    def __len__(self) -> int:
        return len(self.x0)

    def __getitem__(self, index: int) -> dict:
        return {"x0": self.x0[index], "latent": self.latent[index]}


def tiny_system(**changes) -> DiffusionSystem:
    options = dict(parameterisation="eps", condition_dropout=0.2,
                   optimiser={**DEFAULT_OPTIMISER, "lr": 2e-3}, ema_decay=0.9)
    return DiffusionSystem(tiny_unet(), {"steps": 100}, **{**options, **changes})


class Record(pl.Callback):
    """At the end, rank 0 writes the largest weight difference across ranks and every rank's
    last timesteps."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_train_end(self, trainer, module) -> None:
        weights = torch.cat([p.detach().flatten() for p in module.network.parameters()])
        gathered = module.all_gather(weights)
        timesteps = module.all_gather(module.last_timesteps)
        if trainer.is_global_zero:
            spread = float((gathered - gathered[0]).abs().max()) if gathered.ndim > 1 else 0.0
            Path(self.folder, "ranks.json").write_text(json.dumps(
                {"world_size": trainer.world_size, "max_rank_difference": spread,
                 "timesteps": timesteps.tolist()}))


class Kill(pl.Callback):
    """Dies like a SIGKILL (no cleanup, no final checkpoint) at step ``kill_at``."""

    def __init__(self, kill_at: int | None) -> None:
        self.kill_at = kill_at

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.kill_at is not None and trainer.global_step == self.kill_at:
            os._exit(9)


def train(folder: str, steps: int, kill_at: int | None = None, **trainer_options) -> None:
    settings = TrainerSettings(max_steps=steps, checkpoint_dir=str(Path(folder) / "ckpt"),
                               checkpoint_every_n_steps=5, log_every_n_steps=1)
    trainer = build_trainer(settings, callbacks=[Kill(kill_at), Record(folder)],
                            enable_progress_bar=False, **trainer_options)
    loader = step_loader(SmoothTriplanes(), 2, steps)
    fit_resumably(trainer, tiny_system(), settings, train_dataloaders=loader)


if __name__ == "__main__":
    mode, folder = sys.argv[1], sys.argv[2]
    if mode == "killed":
        train(folder, steps=12, kill_at=8)
    elif mode == "resume":
        train(folder, steps=12)
    elif mode == "ddp":
        train(folder, steps=4, accelerator="cpu", devices=2, strategy="ddp_spawn")
