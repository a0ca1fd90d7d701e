"""Ranks started as torchrun starts them (every rank runs the whole program at once), for tests
spawned with ``torch.multiprocessing`` (importable by the spawned processes)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from tiny_model import TinyRegression


def torchrun_environment(rank: int, world_size: int, port: int) -> dict[str, str]:
    """The variables torchrun gives each rank (Lightning then sees a TorchElasticEnvironment)."""
    return {"TORCHELASTIC_RUN_ID": "test", "RANK": str(rank), "LOCAL_RANK": str(rank),
            "GROUP_RANK": "0", "WORLD_SIZE": str(world_size),
            "LOCAL_WORLD_SIZE": str(world_size), "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port)}


def record_checkpoint_traffic(rank: int, record: Path) -> None:
    """Note every checkpoint this rank reads and every file it moves into a ``stale-*`` folder;
    rank zero holds its first such move until another rank has read a checkpoint (or 5 s
    passed), so a rank that decided for itself would reliably read the files being moved."""
    load, rename = torch.load, Path.rename

    def noted_load(source, *args, **kwargs):
        (record / f"read-rank{rank}").touch()
        return load(source, *args, **kwargs)

    def noted_rename(self: Path, target) -> Path:
        if Path(target).parent.name.startswith("stale-"):
            (record / f"set-aside-rank{rank}").touch()
            deadline = time.monotonic() + 5
            while rank == 0 and not list(record.glob("read-rank[1-9]*")) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        return rename(self, target)

    torch.load, Path.rename = noted_load, noted_rename


def resume_on_launched_rank(rank: int, world_size: int, port: int, checkpoint_dir: str,
                            record: str, learning_rate: float) -> None:
    """One rank of a torchrun-style DDP run that resumes (or not) from ``checkpoint_dir``."""
    os.environ.update(torchrun_environment(rank, world_size, port))
    from rodin_pipelines.training.trainer_factory import (
        TrainerSettings, build_trainer, fit_resumably,
    )

    record_checkpoint_traffic(rank, Path(record))
    settings = TrainerSettings(max_steps=6, checkpoint_dir=checkpoint_dir,
                               checkpoint_every_n_steps=3, log_every_n_steps=1,
                               devices=world_size, strategy="ddp")
    trainer = build_trainer(settings, enable_progress_bar=False)
    model = TinyRegression(learning_rate=learning_rate)
    fit_resumably(trainer, model, settings)
    (Path(record) / f"first-step-rank{rank}.json").write_text(json.dumps(model.first_step))
