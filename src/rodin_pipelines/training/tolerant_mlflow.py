"""Lightning's MLflow logger, made unable to kill a training.

The stage's tracking hook turns MLflow failures into warnings, but Lightning's logger writes to
the same store during training and raises: two runs on one SQLite store ("database is locked"),
a full disk or a server going away would stop hours of training. Here the first failure is a
warning and the training goes on untracked, as the rest of the stage does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pytorch_lightning.loggers import MLFlowLogger

logger = logging.getLogger(__name__)


class _Untracked:
    """Stands in for the MLflow client once tracking has failed: every call does nothing."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class TolerantMLFlowLogger(MLFlowLogger):
    """``MLFlowLogger`` whose failures become one warning; then it logs nothing more."""

    tracking_failed = False

    def _tolerate(self, what: str, call: Callable[[], Any]) -> Any:
        if self.tracking_failed:
            return None
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - tracking must never kill training
            self.tracking_failed = True
            logger.warning("MLflow logging failed while %s (%s: %s); training goes on without "
                           "tracking.", what, type(error).__name__, error)
            return None

    @property
    def experiment(self) -> Any:
        client = self._tolerate("connecting to the run",
                                lambda: super(TolerantMLFlowLogger, self).experiment)
        return _Untracked() if self.tracking_failed else client

    def log_metrics(self, metrics: Any, step: int | None = None) -> None:
        self._tolerate("logging metrics",
                       lambda: super(TolerantMLFlowLogger, self).log_metrics(metrics, step))

    def log_hyperparams(self, params: Any) -> None:
        self._tolerate("logging hyperparameters",
                       lambda: super(TolerantMLFlowLogger, self).log_hyperparams(params))

    def finalize(self, status: str = "success") -> None:
        self._tolerate("closing the run",
                       lambda: super(TolerantMLFlowLogger, self).finalize(status))

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self._tolerate("logging a checkpoint", lambda: super(
            TolerantMLFlowLogger, self).after_save_checkpoint(checkpoint_callback))
