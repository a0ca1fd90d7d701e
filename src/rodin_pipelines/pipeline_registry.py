"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

STAGE_ORDER = ("render", "fit", "encoder", "diffusion", "evaluate")
"""The stages ``kedro run`` chains by default; ``ingest`` runs only when asked for."""


def register_pipelines() -> dict[str, Pipeline]:
    """Every pipeline under ``pipelines/`` by folder name, and ``__default__`` chaining stages."""
    pipelines = find_pipelines(raise_errors=True)
    # Kedro loads only the pipelines a run asks for; __default__ needs (and then has) them all.
    if all(name in pipelines for name in STAGE_ORDER):
        pipelines["__default__"] = sum(
            (pipelines[name] for name in STAGE_ORDER), start=Pipeline([])
        )
    return pipelines
