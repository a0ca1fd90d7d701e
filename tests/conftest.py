"""Shared fixtures: small threads, seeded torch, and a throw-away copy of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(min(2, os.cpu_count() or 1))

PIPELINE_SIZED_TIMEOUT_SECONDS = 1800
"""The budget of a pipeline-sized test (marked ``slow``, or in ``tests/pipelines/``, whose module
fixtures run a whole test-profile chain inside the first test's time) instead of pyproject's 600 s
per test: on a loaded machine they are slow, not errors (issue 17)."""

SUBPROCESS_TIMEOUT_SECONDS = PIPELINE_SIZED_TIMEOUT_SECONDS - 120
"""The limit of one subprocess (a ``kedro run``, a training script) of a pipeline-sized test:
the test's whole budget, less a margin so that the subprocess's timeout, which reports its
output, fires before pytest-timeout stops the test without it. A shorter limit of its own would
fail a run that the budget allows."""


def is_pipeline_sized(item: pytest.Item) -> bool:
    return (item.get_closest_marker("slow") is not None
            or item.nodeid.replace("\\", "/").startswith("tests/pipelines/"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_pipeline_sized(item) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(PIPELINE_SIZED_TIMEOUT_SECONDS))


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _mlflow_state_stays_in_its_test():
    """MLflow keeps the active run and experiment in module globals and ``MLFLOW_EXPERIMENT_ID``:
    an experiment set in one test's store would otherwise be looked up in the next test's fresh
    store ("No Experiment with id=1 exists")."""
    experiment_variable = os.environ.get("MLFLOW_EXPERIMENT_ID")
    yield
    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None:
        while fluent.active_run() is not None:
            fluent.end_run()
        fluent._active_experiment_id = None
    if experiment_variable is None:
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    else:
        os.environ["MLFLOW_EXPERIMENT_ID"] = experiment_variable


def copy_project(destination: Path) -> Path:
    """A copy of the project's source, config and DVC files (no data, no runs) to run Kedro in."""
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "data", "mlruns", "mlartifacts", "*.db", "__pycache__", ".pytest_cache",
        "*.egg-info", "tests", "notebooks", "tmp", "cache", "metrics",
    )
    shutil.copytree(PROJECT_ROOT, destination, ignore=ignore)
    for folder in ("data/01_raw", "data/04_feature", "data/06_models", "data/08_reporting"):
        (destination / folder).mkdir(parents=True, exist_ok=True)
    return destination


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


KEDRO = str(Path(sys.executable).with_name("kedro"))

TRAINED_PROJECT_PARAMETERS = ",".join([
    # The test profile's CLIP takes ~5 s a step on two shared CPU cores; the notebook and the
    # demo page need a CLIP, not a good one, so it trains for 6 steps instead of 60.
    "encoder.training.trainer.max_steps=6",
])


def kedro_run(project: Path, *args: str) -> None:
    """``kedro run --env test *args`` in ``project``, tracking into the profile's own store."""
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environment.update(KEDRO_DISABLE_TELEMETRY="true", HF_HUB_OFFLINE="1")
    result = subprocess.run([KEDRO, "run", "--env", "test", *args], cwd=project,
                            capture_output=True, text=True, env=environment,
                            timeout=SUBPROCESS_TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture
def subprocess_timeout() -> float:
    """:data:`SUBPROCESS_TIMEOUT_SECONDS`, for test modules (which cannot import conftest)."""
    return SUBPROCESS_TIMEOUT_SECONDS


@pytest.fixture
def run_kedro() -> Callable[..., None]:
    return kedro_run


@pytest.fixture(scope="session")
def trained_test_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after ``kedro run --env test`` of render → diffusion (every model the
    ``generate`` stage and the demo page read), trained once per session. Its users (the
    notebook, the demo page) add runs and results to it; none changes its models."""
    project = copy_project(tmp_path_factory.mktemp("trained") / "project")
    kedro_run(project, "--pipelines", "render,fit,encoder,diffusion",
              "--params", TRAINED_PROJECT_PARAMETERS)
    return project
