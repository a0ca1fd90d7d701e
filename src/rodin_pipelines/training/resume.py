"""Which checkpoint a training resumes from, decided once for every DDP rank.

``resume: last`` continues from the newest checkpoint unless it was trained with other
hyperparameters; then the old checkpoints are moved aside and training starts afresh. Under
torchrun or SLURM every rank runs this decision at the same moment, and ranks that each decided
for themselves renamed the same files under each other's feet (one crashed with a missing file;
a slow one could read a file another was moving). So there rank zero alone reads and moves,
then broadcasts what it decided. Lightning's own launchers need no agreement: with ``ddp_spawn``
only the main process decides, and with ``ddp`` its first process decides before it starts the
others, which then find the folder as rank zero left it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from rodin_pipelines.sharding import launcher_shard
from rodin_pipelines.training.checkpoints import (
    HPC_CHECKPOINTS,
    LAST,
    load_checkpoint_safely,
    resume_path,
)

logger = logging.getLogger(__name__)


def agreed_resume_checkpoint(trainer: pl.Trainer, model: pl.LightningModule,
                             resume: str | None, checkpoint_dir: str) -> str | None:
    """The checkpoint every rank of ``trainer`` resumes ``model`` from (``None``: afresh).

    Raises:
        UnsafeCheckpointError: the checkpoint to resume from holds pickled code (on every rank).
        InputDataError: the checkpoint to resume from is damaged; it is named (on every rank).
        FileNotFoundError: a checkpoint named in ``resume`` is missing (on every rank).
    """
    shard = launcher_shard()
    launched_together = (shard is not None and shard.count == trainer.world_size
                         and shard.index == trainer.global_rank)
    if not launched_together:
        return resume_checkpoint(model, resume, checkpoint_dir,
                                 may_set_aside=trainer.is_global_zero)
    # Open now the process group fit() would open (Lightning reuses an initialised one).
    trainer.strategy.setup_environment()
    decision: str | None | Exception = None
    if shard.index == 0:
        try:
            decision = resume_checkpoint(model, resume, checkpoint_dir, may_set_aside=True)
        except Exception as error:  # noqa: BLE001 - every rank must raise it, not wait forever
            decision = error
    # The receivers block until rank zero sends, which it does only after moving the files: the
    # broadcast is the barrier.
    decision = trainer.strategy.broadcast(decision, src=0)
    if isinstance(decision, Exception):
        raise decision
    return decision


def resume_checkpoint(model: pl.LightningModule, resume: str | None, checkpoint_dir: str,
                      may_set_aside: bool) -> str | None:
    """The checkpoint to resume ``model`` from, deciding alone: under ``resume: last`` a
    checkpoint of other hyperparameters means starting afresh, its files moved aside when
    ``may_set_aside`` (rank zero; another rank only skips it). Under ``resume: null`` a SLURM
    requeue's checkpoints are moved aside likewise, so Lightning cannot resume from them."""
    if resume is None:
        if may_set_aside:
            _hide_requeue_checkpoints(checkpoint_dir)
        return None
    checkpoint = resume_path(resume, checkpoint_dir)
    # Read safely first, whichever way it was named: a file carrying code is refused by name.
    stored = checkpoint_hyperparameters(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and resume == LAST:
        if stored is not None and stored != _plain(dict(model.hparams)):
            if may_set_aside:
                stale = set_aside_checkpoints(checkpoint_dir)
                logger.warning("%s was trained with other hyperparameters; starting afresh (its "
                               "checkpoints moved to %s)", checkpoint, stale)
            checkpoint = None
    if checkpoint is not None:
        logger.info("resuming from %s", checkpoint)
    return checkpoint


def set_aside_checkpoints(checkpoint_dir: str | Path, pattern: str = "*.ckpt") -> Path:
    """Move the ``.ckpt`` files (those matching ``pattern``) of a finished or abandoned
    configuration into ``<checkpoint_dir>/stale-<time>/`` so new checkpoints never mix with
    them."""
    folder = Path(checkpoint_dir)
    stale = folder / f"stale-{time.strftime('%Y%m%d-%H%M%S')}"
    stale.mkdir(parents=True, exist_ok=True)
    for path in folder.glob(pattern):
        path.rename(stale / path.name)
    return stale


def _hide_requeue_checkpoints(checkpoint_dir: str) -> None:
    """Set a SLURM requeue's ``hpc_ckpt_N.ckpt`` aside when the run starts afresh: under SLURM,
    ``fit(ckpt_path=None)`` makes Lightning resume from the newest one in ``default_root_dir``
    (the checkpoint folder, see ``build_trainer``) by itself, past ``resume: null`` and past
    the refusal of a checkpoint carrying code."""
    if not any(Path(checkpoint_dir).glob(HPC_CHECKPOINTS)):
        return
    stale = set_aside_checkpoints(checkpoint_dir, HPC_CHECKPOINTS)
    logger.warning("resume is null: starting afresh, the SLURM requeue checkpoints moved to %s "
                   "so that Lightning does not resume from them", stale)


def checkpoint_hyperparameters(path: str) -> dict[str, Any] | None:
    """The hyperparameters a Lightning checkpoint was saved with (``None`` if it has none)."""
    stored = load_checkpoint_safely(path)
    hyperparameters = stored.get("hyper_parameters")
    return None if hyperparameters is None else _plain(dict(hyperparameters))


def _plain(value: Any) -> Any:
    """Tuples as lists, mappings as dicts: how hyperparameters compare after a round trip."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
