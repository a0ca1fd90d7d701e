"""Sample galleries during training: every N steps, pictures of samples drawn with fixed seeds
(so galleries compare across steps) go to the training's MLflow run and to a folder."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.loggers import MLFlowLogger

from rodin_pipelines.atomic_files import atomic_write_png

logger = logging.getLogger(__name__)

GalleryMaker = Callable[[pl.LightningModule], np.ndarray]
"""``make(module) → (H, W, 3)`` uint8 picture of samples drawn with fixed seeds."""


class SampleGallery(pl.Callback):
    """Calls ``make`` every ``every_n_steps`` optimisation steps (rank 0 only) and writes
    ``<folder>/step-XXXXXXX.png``; logs it to MLflow as ``<name>/step-XXXXXXX.png`` too."""

    def __init__(self, make: GalleryMaker, every_n_steps: int, folder: str | Path,
                 name: str) -> None:
        self.make = make
        self.every_n_steps = every_n_steps
        self.folder = Path(folder)
        self.name = name

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, *args) -> None:
        step = trainer.global_step
        if self.every_n_steps <= 0 or step % self.every_n_steps or not trainer.is_global_zero:
            return
        was_training = module.training
        module.eval()
        try:
            picture = self.make(module)
        finally:
            module.train(was_training)
        file_name = f"step-{step:07d}.png"
        path = self.folder / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_png(path, picture)
        for run_logger in trainer.loggers:
            if isinstance(run_logger, MLFlowLogger):
                try:
                    run_logger.experiment.log_artifact(run_logger.run_id, str(path),
                                                       artifact_path=self.name)
                except Exception as error:  # noqa: BLE001 - tracking must never kill training
                    logger.warning("gallery not logged to MLflow (%s)", error)

