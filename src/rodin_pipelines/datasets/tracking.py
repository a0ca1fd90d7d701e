"""Logging to the active MLflow run from datasets, without ever failing the run.

kedro-mlflow's hook opens one MLflow run per ``kedro run``; datasets log what they save into it.
When tracking is off or broken (no run, server down, disk full) the file is still written and
the failure is only a warning: losing a plot is better than losing hours of rendering.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


def log_to_active_run(action: Callable[[Any], None], what: str) -> bool:
    """Call ``action(mlflow)`` if an MLflow run is active; warn instead of raising on failure.

    Returns whether it was logged.
    """
    try:
        import mlflow

        if mlflow.active_run() is None:
            return False
        action(mlflow)
        return True
    except Exception as error:  # noqa: BLE001 - tracking must never kill a run
        logger.warning("MLflow tracking of %s failed (%s); the run goes on without it.", what,
                       error)
        return False
