"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

STAGE_ORDER = ("render", "fit", "encoder", "diffusion", "evaluate")
"""The stages ``kedro run`` chains by default; ``ingest`` runs only when asked for."""

STAGE_TAG_PREFIX = "stage_"
"""Every node carries ``stage_<pipeline>``, so a run of several stages can track each in its
own MLflow run (see ``hooks.py``)."""


def stage_of(tags: set[str]) -> str | None:
    """The stage a node belongs to, from its tags."""
    stages = sorted(t.removeprefix(STAGE_TAG_PREFIX) for t in tags
                    if t.startswith(STAGE_TAG_PREFIX))
    return stages[0] if stages else None


def register_pipelines() -> dict[str, Pipeline]:
    """Every pipeline under ``pipelines/`` by folder name, and ``__default__`` chaining stages."""
    pipelines = {name: pipeline.tag(f"{STAGE_TAG_PREFIX}{name}")
                 for name, pipeline in find_pipelines(raise_errors=True).items()}
    # Kedro loads only the pipelines a run asks for; __default__ needs (and then has) them all.
    if all(name in pipelines for name in STAGE_ORDER):
        pipelines["__default__"] = sum(
            (pipelines[name] for name in STAGE_ORDER), start=Pipeline([])
        )
    return pipelines
