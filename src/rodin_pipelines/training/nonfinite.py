"""One rule for non-finite losses, shared by every training system (diffusion, prior, CLIP).

A NaN or inf loss would poison the weights (and, in Adam, the moment estimates) for good. Such a
step is skipped on every rank (one rank's NaN skips it everywhere, so DDP ranks stay in step),
counted and logged; several in a row mean the run has diverged and it stops with a message
saying what to try, instead of training on garbage to the end.
"""

from __future__ import annotations

import logging

import pytorch_lightning as pl
import torch
from torch import Tensor

logger = logging.getLogger(__name__)


class TrainingDivergedError(FloatingPointError):
    """Several optimisation steps in a row had a non-finite loss on some rank."""


class NonFiniteGuard:
    """Decides, step by step, whether a loss is finite on every rank.

    Args:
        max_in_a_row: this many non-finite steps in a row stop the run.
        log_key: the metric counting skipped steps (e.g. ``train/nonfinite_steps_skipped``).
        fix: what to try, said when the run stops.
    """

    def __init__(self, max_in_a_row: int, log_key: str, fix: str) -> None:
        self.max_in_a_row = max_in_a_row
        self.log_key = log_key
        self.fix = fix
        self.in_a_row = 0
        self.total = 0

    def all_ranks_finite(self, module: pl.LightningModule, loss: Tensor) -> bool:
        """``True``: step. ``False``: skip this step (counted and logged).

        Raises:
            TrainingDivergedError: the ``max_in_a_row``-th non-finite step in a row.
        """
        finite = module.trainer.strategy.reduce_boolean_decision(bool(torch.isfinite(loss)),
                                                                 all=True)
        if finite:
            self.in_a_row = 0
            return True
        self.in_a_row += 1
        self.total += 1
        module.log(self.log_key, float(self.total))
        logger.warning("non-finite loss at step %d (rank %d): step skipped",
                       module.global_step, module.global_rank)
        if self.in_a_row >= self.max_in_a_row:
            raise TrainingDivergedError(
                f"loss was non-finite for {self.in_a_row} steps in a row, up to step "
                f"{module.global_step}. Fix: {self.fix}; then rerun to resume from the last "
                "checkpoint")
        return False
