"""A training stopped by SIGTERM (``scancel``, preemption, ``kill``) or Ctrl-C (SIGINT) saves its
state and says so, instead of ending as if it had finished.

Lightning already stops at the next step boundary on SIGTERM, but then leaves with a
``SystemExit`` whose status is 0, and on Ctrl-C it stops mid-step without a checkpoint and exits
1. Here both signals take the SIGTERM path (a clean step boundary), ``last.ckpt`` is written, and
:class:`TrainingInterrupted` carries the signal up to the CLI, which exits ``128 + signal`` as
shells, schedulers and ``dvc repro`` expect of a killed program.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.utilities.exceptions import SIGTERMException

from rodin_pipelines.training.checkpoints import (
    LAST_CHECKPOINT, AtomicCheckpoint, load_checkpoint_safely,
)

logger = logging.getLogger(__name__)


class TrainingInterrupted(RuntimeError):
    """Training stopped by a signal before it finished; ``checkpoint`` holds its state."""

    def __init__(self, signal_number: int, step: int, checkpoint: Path | None) -> None:
        self.signal_number = signal_number
        self.step = step
        self.checkpoint = checkpoint
        name = signal.Signals(signal_number).name
        saved = (f"its state at step {step} is saved in {checkpoint}; run the same command "
                 "again to continue from there (with the trainer's `resume: last`)"
                 if checkpoint is not None else f"no checkpoint was saved (step {step})")
        super().__init__(f"training interrupted by {name}: {saved}")

    @property
    def exit_code(self) -> int:
        """What a shell reports for a program killed by this signal."""
        return 128 + self.signal_number


class CheckpointOnInterrupt(pl.Callback):
    """Saves ``last.ckpt`` when SIGTERM or SIGINT stops the training, and remembers which.

    SIGINT is routed into Lightning's SIGTERM flag while training runs, so Ctrl-C also stops at
    a step boundary (never with the weights half updated); a second Ctrl-C interrupts at once,
    without saving.
    """

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self.checkpoint: Path | None = None
        self._previous_sigint: Any = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        def stop_at_the_next_step(signum: int, frame: FrameType | None) -> None:
            logger.warning("Received SIGINT: stopping after this step (Ctrl-C again to abort)")
            self.signal_number = signum
            signal.signal(signal.SIGINT, self._previous_sigint)
            # Lightning's own flag: its loops then stop as they do on SIGTERM.
            trainer._signal_connector.received_sigterm = True

        try:
            self._previous_sigint = signal.signal(signal.SIGINT, stop_at_the_next_step)
        except ValueError:  # not the main thread: Ctrl-C keeps Python's behaviour
            self._previous_sigint = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore_sigint()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        self._restore_sigint()
        if isinstance(exception, KeyboardInterrupt):
            # A second Ctrl-C (or one before training ran): it may have struck mid-step, with
            # the weights half updated, so nothing is saved; the last checkpoint stands.
            self.signal_number = signal.SIGINT
            return
        if not isinstance(exception, SIGTERMException):
            return
        self.signal_number = self.signal_number or signal.SIGTERM
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, AtomicCheckpoint) and callback.dirpath is not None:
                self.checkpoint = Path(callback.dirpath) / LAST_CHECKPOINT
                callback._save_checkpoint(trainer, str(self.checkpoint))
                logger.warning("Saved %s at step %d before stopping", self.checkpoint,
                               trainer.global_step)

    def error(self, trainer: pl.Trainer) -> TrainingInterrupted:
        """The exception that reports this interruption, with the step its checkpoint holds."""
        signal_number = self.signal_number or signal.SIGTERM
        if self.checkpoint is not None:
            return TrainingInterrupted(signal_number, trainer.global_step, self.checkpoint)
        # Nothing saved now (a second Ctrl-C, or the signal came after training ended): the
        # newest last.ckpt, if any, is what a rerun continues from.
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, AtomicCheckpoint) and callback.dirpath is not None:
                last = Path(callback.dirpath) / LAST_CHECKPOINT
                if last.is_file():
                    step = int(load_checkpoint_safely(last).get("global_step", 0))
                    return TrainingInterrupted(signal_number, step, last)
        return TrainingInterrupted(signal_number, trainer.global_step, None)

    def _restore_sigint(self) -> None:
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None
