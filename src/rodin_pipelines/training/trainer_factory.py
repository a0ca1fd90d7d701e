"""THE trainer factory: every training stage builds its Lightning ``Trainer`` here.

One place decides devices, strategy, precision, checkpointing and logging, so the encoder, prior,
base and upsampler diffusion models train the same way: CPU by default, DDP across GPUs and nodes
with ``--env paper``. Metrics go to the MLflow run that kedro-mlflow opened for the stage (if
any), so one stage stays one MLflow run.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from rodin_pipelines.training.checkpoints import LAST, AtomicCheckpoint
from rodin_pipelines.training.interruption import CheckpointOnInterrupt, TrainingInterrupted
from rodin_pipelines.training.resume import agreed_resume_checkpoint
from rodin_pipelines.training.tolerant_mlflow import TolerantMLFlowLogger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainerSettings:
    """How a model trains (one block per model in ``parameters_<stage>.yml``).

    Attributes:
        max_steps: optimisation steps in total (a resumed run continues to this count).
        checkpoint_dir: where ``last.ckpt`` and step checkpoints go.
        checkpoint_every_n_steps: how often a checkpoint is written.
        resume: ``"last"`` (continue if a checkpoint exists), a ``.ckpt`` path, or ``None``.
        accelerator / devices / num_nodes / strategy / precision: Lightning's own options
            (``"cpu"``, 1, 1, ``"auto"``, ``"32-true"`` by default; ``"gpu"``, 8, N, ``"ddp"``,
            ``"16-mixed"``/``"bf16-mixed"`` at paper scale).
        gradient_clip_val: clip gradients to this norm (``None``: no clipping).
        log_every_n_steps: how often metrics are logged.
        seed: base seed; each DDP rank adds its rank so ranks draw different noise.
    """

    max_steps: int
    checkpoint_dir: str
    checkpoint_every_n_steps: int = 100
    resume: str | None = LAST
    accelerator: str = "cpu"
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    gradient_clip_val: float | None = None
    log_every_n_steps: int = 10
    seed: int = 0


class RankSeed(pl.Callback):
    """Seeds every process with ``seed + rank`` before training, so DDP ranks draw different
    noise and timesteps while starting from the same (broadcast) weights."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        pl.seed_everything(self.seed + trainer.global_rank, workers=True, verbose=False)


def mlflow_logger_for_active_run(prefix: str = "") -> TolerantMLFlowLogger | None:
    """A Lightning logger writing into the active MLflow run, or ``None`` when there is none;
    its failures during training are warnings (:class:`TolerantMLFlowLogger`).

    ``prefix`` names the model's curves (``prior-train/loss``) when one stage trains several."""
    try:
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return None
        return TolerantMLFlowLogger(tracking_uri=mlflow.get_tracking_uri(),
                                    run_id=run.info.run_id, prefix=prefix)
    except Exception as error:  # noqa: BLE001 - tracking must never kill training
        logger.warning("MLflow logging unavailable for training (%s); training goes on.", error)
        return None


def build_trainer(settings: TrainerSettings, callbacks: list[pl.Callback] | None = None,
                  log_prefix: str = "", **overrides: Any) -> pl.Trainer:
    """A ``Trainer`` for ``settings``, with atomic checkpoints and the stage's MLflow run.

    Lightning does not log hyperparameters: kedro-mlflow already logs the stage's parameters,
    and two models of one stage would clash on MLflow's immutable parameter names."""
    checkpoint = AtomicCheckpoint(
        dirpath=settings.checkpoint_dir, save_last=True, save_top_k=-1,
        every_n_train_steps=settings.checkpoint_every_n_steps,
        filename="step-{step:07d}", auto_insert_metric_name=False,
        # Overwrite (atomically) rather than write last-v1.ckpt beside a stale last.ckpt, which
        # the next run would resume from.
        enable_version_counter=False,
    )
    Path(settings.checkpoint_dir).mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "max_steps": settings.max_steps,
        "accelerator": settings.accelerator,
        "devices": settings.devices,
        "num_nodes": settings.num_nodes,
        "strategy": settings.strategy,
        "precision": settings.precision,
        "gradient_clip_val": settings.gradient_clip_val,
        "log_every_n_steps": settings.log_every_n_steps,
        "callbacks": [checkpoint, CheckpointOnInterrupt(), RankSeed(settings.seed),
                      *(callbacks or [])],
        "logger": mlflow_logger_for_active_run(log_prefix) or False,
        "enable_autolog_hparams": False,
        "enable_model_summary": False,
        "default_root_dir": settings.checkpoint_dir,
    }
    options.update(overrides)
    return pl.Trainer(**options)


def fit_resumably(trainer: pl.Trainer, model: pl.LightningModule, settings: TrainerSettings,
                  **data: Any) -> None:
    """``trainer.fit`` continuing from ``settings.resume``; checkpoints load with
    ``weights_only=True`` (models are built from plain config, never unpickled).

    ``resume: last`` starts afresh, with a warning, when the last checkpoint was trained with
    other hyperparameters (the config changed since): its weights would not fit the model. Under
    DDP rank zero alone decides and moves the stale checkpoints aside (``training/resume.py``).

    Raises:
        UnsafeCheckpointError: the checkpoint to resume from holds pickled code.
        InputDataError: the checkpoint to resume from is damaged or truncated; it is named.
        TrainingInterrupted: SIGTERM or SIGINT stopped the training (its state is saved), so
            the stage must not go on as if the model were trained.
    """
    checkpoint = agreed_resume_checkpoint(trainer, model, settings.resume,
                                          settings.checkpoint_dir)
    interruption = next((c for c in trainer.callbacks if isinstance(c, CheckpointOnInterrupt)),
                        None)
    try:
        trainer.fit(model, ckpt_path=checkpoint, weights_only=True, **data)
    except SystemExit:  # Lightning's SIGTERMException, or its exit(1) after a KeyboardInterrupt
        if interruption is None or interruption.signal_number is None:
            raise
        raise interruption.error(trainer) from None
    if trainer.received_sigterm:  # the signal came after the last step: finished, yet stopped
        raise (interruption.error(trainer) if interruption is not None else
               TrainingInterrupted(signal.SIGTERM, trainer.global_step, None))
