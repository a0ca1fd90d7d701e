"""Checkpoints that survive kills and load safely.

Lightning's ``ModelCheckpoint`` writes straight to its target; a kill mid-write can leave a
truncated ``last.ckpt`` that the next run would try to resume from. :class:`AtomicCheckpoint`
writes to a temporary sibling and renames. Resuming is explicit: ``"last"`` continues from the
newest checkpoint if there is one (``last.ckpt`` or a SLURM requeue's ``hpc_ckpt_N.ckpt``), a
path must exist, ``None`` starts afresh.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from rodin_pipelines.atomic_files import replace_durably, temporary_name
from rodin_pipelines.errors import InputDataError, UnsafeCheckpointError

LAST = "last"
"""``resume`` value meaning: continue from ``<checkpoint_dir>/last.ckpt`` when it exists."""
LAST_CHECKPOINT = "last.ckpt"
HPC_CHECKPOINTS = "hpc_ckpt_*.ckpt"
"""What Lightning writes when SLURM sends the requeue signal (``--signal=SIGUSR1@90
--requeue``): newer than ``last.ckpt`` by up to ``checkpoint_every_n_steps`` steps."""


class AtomicCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose files appear complete or not at all."""

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        target = Path(filepath)
        # A name of this process and call: two runs writing into one folder never share one.
        temporary = target.with_name(temporary_name(target.name))
        trainer.save_checkpoint(str(temporary), self.save_weights_only)
        if trainer.is_global_zero:
            replace_durably(temporary, target)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        trainer.strategy.barrier()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """``last.ckpt`` holds the final step even when it is not a multiple of the interval,
        so a rerun of a finished training resumes at its end instead of redoing steps."""
        if self.save_last and trainer.global_step != self._last_global_step_saved:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def load_checkpoint_safely(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint's content, read with ``weights_only=True`` (memory-mapped when the
    file allows: only what is used is read).

    Raises:
        UnsafeCheckpointError: the file holds pickled code; it is not loaded.
        InputDataError: the file is truncated or damaged (a copy cut short, a full disk).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True,
                          mmap=zipfile.is_zipfile(path))  # legacy files cannot be mapped
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError.from_unpickling(path, error) from None
    except FileNotFoundError:
        raise
    # What torch raises for a cut or garbled file (its zip reader, or the legacy reader it
    # falls back to on a non-zip file) names neither the file nor what to do.
    except (RuntimeError, OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise damaged_checkpoint_error(path, error) from error


def damaged_checkpoint_error(path: str | Path, error: BaseException) -> InputDataError:
    """Names the unreadable checkpoint ``path`` and how to go on without it."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return InputDataError(
        path, f"damaged or truncated checkpoint, torch cannot read it ({type(error).__name__}"
        f"{': ' + reason if reason else ''})",
        "delete it (`resume: last` then continues from the newest remaining checkpoint, or "
        "starts afresh), or set `resume` to another .ckpt file, or to null to start afresh")


def resume_path(resume: str | None, checkpoint_dir: str | Path) -> str | None:
    """The checkpoint to resume from, or ``None`` to start afresh.

    Raises:
        FileNotFoundError: ``resume`` names a checkpoint file that does not exist.
    """
    if resume is None:
        return None
    if resume == LAST:
        # The newest of last.ckpt and a requeue's hpc checkpoints: naming last.ckpt alone would
        # make Lightning ignore the requeue's and redo the steps since last.ckpt.
        folder = Path(checkpoint_dir)
        found = [path for path in (folder / LAST_CHECKPOINT, *sorted(folder.glob(HPC_CHECKPOINTS)))
                 if path.is_file()]
        return str(max(found, key=lambda path: path.stat().st_mtime_ns)) if found else None
    named = Path(resume)
    if not named.is_file():
        raise FileNotFoundError(
            f"{named}: checkpoint to resume from not found. Fix: point `resume` at an existing "
            f".ckpt file, use `last` to continue from {Path(checkpoint_dir) / LAST_CHECKPOINT} "
            "when present, or null to start afresh"
        )
    return str(named)
