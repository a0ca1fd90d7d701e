"""The tracking hook, driven as Kedro drives it, against a throw-away MLflow store.

``ResilientMlflowHook`` leans on kedro-mlflow internals: the attributes ``run_id`` (re-opened by
kedro-mlflow before every node), ``_is_mlflow_enabled`` and ``_already_active_mlflow``. The first
test pins those, so a kedro-mlflow upgrade that renames or repurposes them fails here rather than
silently putting every stage's parameters in one run.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow
import pytest
from kedro.config import OmegaConfigLoader
from kedro.pipeline import Node, Pipeline
from kedro_mlflow.framework.hooks import MlflowHook

from rodin_pipelines.hooks import ResilientMlflowHook, git_commit_of
from rodin_pipelines.pipeline_registry import STAGE_TAG_PREFIX

EXPERIMENT = "hook_test"


def _identity(x: Any) -> Any:
    return x


def _context(project: Path) -> SimpleNamespace:
    """What kedro-mlflow reads of a ``KedroContext``: the config loader (with an ``mlflow``
    pattern and a ``mlflow.yml`` naming a SQLite store in ``project``), the project path, the
    package name and the credentials."""
    conf = project / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base" / "mlflow.yml").write_text(
        f"server:\n  mlflow_tracking_uri: sqlite:///{project / 'mlflow.db'}\n"
        f"tracking:\n  experiment:\n    name: {EXPERIMENT}\n  run:\n    nested: true\n")
    loader = OmegaConfigLoader(str(conf), base_env="base", default_run_env="local")
    return SimpleNamespace(config_loader=loader, project_path=project, _package_name="hook_test",
                           _get_config_credentials=lambda: {})


def _pipeline(*stages: str) -> Pipeline:
    """One node per stage, tagged as ``pipeline_registry`` tags them, each with a parameter."""
    return Pipeline([Node(_identity, f"params:{stage}", f"{stage}_out", name=f"{stage}_node",
                          tags={f"{STAGE_TAG_PREFIX}{stage}"}) for stage in stages])


def _run(hook: ResilientMlflowHook, project: Path, pipeline: Pipeline,
         parameters: dict[str, Any]) -> None:
    """The hook calls of one ``kedro run``, in Kedro's order, nodes in pipeline order."""
    run_params = {"pipeline_names": ["__default__"], "tags": None, "node_names": None,
                  "from_nodes": None, "to_nodes": None, "from_inputs": None,
                  "load_versions": None}
    hook.after_context_created(_context(project))
    hook.before_pipeline_run(run_params, pipeline, catalog=None)
    for node in pipeline.nodes:
        inputs = {name: parameters[name.removeprefix("params:")] for name in node.inputs}
        hook.before_node_run(node, catalog=None, inputs=inputs, is_async=False)
    hook.after_pipeline_run(run_params, pipeline, catalog=None)


def _runs(project: Path) -> dict[str, Any]:
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    return {run.info.run_name: run for run in mlflow.search_runs(
        experiment_names=[EXPERIMENT], output_format="list")}


@pytest.fixture(autouse=True)
def _no_run_left_open(monkeypatch):
    for variable in ("RANK", "SLURM_PROCID", "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(variable, raising=False)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


def test_kedro_mlflow_still_has_the_fields_the_hook_leans_on(tmp_path):
    plain = MlflowHook()
    assert plain._is_mlflow_enabled is True and plain.run_id is None
    plain.after_context_created(_context(tmp_path))
    assert plain._already_active_mlflow is False

    # before_node_run re-opens whatever run ``run_id`` names: the seam stage runs go through.
    experiment = mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="other") as other:
        pass
    plain.run_id = other.info.run_id
    node = _pipeline("render").nodes[0]
    plain.before_node_run(node, catalog=None, inputs={"params:render": 3}, is_async=False)
    assert mlflow.active_run().info.run_id == other.info.run_id
    mlflow.end_run()
    assert mlflow.get_run(other.info.run_id).data.params == {"render": "3"}


def test_a_run_of_two_stages_nests_one_run_per_stage_under_the_whole(tmp_path):
    hook = ResilientMlflowHook()
    _run(hook, tmp_path, _pipeline("render", "fit"), {"render": 8, "fit": 16})

    runs = _runs(tmp_path)
    assert set(runs) == {"__default__", "render", "fit"}
    whole = runs["__default__"]
    assert whole.info.status == "FINISHED" and "mlflow.parentRunId" not in whole.data.tags
    assert whole.data.params == {}  # every parameter went to its stage's run
    for stage, value in (("render", "8"), ("fit", "16")):
        run = runs[stage]
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == whole.info.run_id
        assert run.data.tags["stage"] == stage
        assert run.data.params == {stage: value}
    assert mlflow.active_run() is None


def test_a_run_of_one_stage_is_one_run_with_its_parameters(tmp_path):
    hook = ResilientMlflowHook()
    _run(hook, tmp_path, _pipeline("render"), {"render": 8})

    runs = _runs(tmp_path)
    assert list(runs) == ["__default__"]
    assert runs["__default__"].data.params == {"render": "8"}
    assert runs["__default__"].info.status == "FINISHED"


def test_a_stage_the_runner_returns_to_reopens_its_own_run(tmp_path):
    # Nodes of independent stages may interleave: render, fit, render again.
    pipeline = _pipeline("render", "fit")
    interleaved = Pipeline([*pipeline.nodes, Node(_identity, "params:render2", "render2_out",
                                                   name="render_again",
                                                   tags={f"{STAGE_TAG_PREFIX}render"})])
    hook = ResilientMlflowHook()
    _run(hook, tmp_path, interleaved, {"render": 8, "fit": 16, "render2": 2})

    runs = _runs(tmp_path)
    assert set(runs) == {"__default__", "render", "fit"}  # no second "render" run
    assert runs["render"].data.params == {"render": "8", "render2": "2"}


def test_a_tracking_failure_is_a_warning_and_later_calls_do_nothing(tmp_path, monkeypatch,
                                                                   caplog):
    calls = []

    def broken(self, *args, **kwargs):
        calls.append("before_pipeline_run")
        raise RuntimeError("store unreachable")

    def counted(self, *args, **kwargs):
        calls.append("before_node_run")

    monkeypatch.setattr(MlflowHook, "before_pipeline_run", broken)
    monkeypatch.setattr(MlflowHook, "before_node_run", counted)
    hook = ResilientMlflowHook()
    with caplog.at_level(logging.WARNING, logger="rodin_pipelines.hooks"):
        _run(hook, tmp_path, _pipeline("render", "fit"), {"render": 8, "fit": 16})

    assert calls == ["before_pipeline_run"]  # nothing is attempted after the failure
    assert hook._tracking_failed and not hook._run_per_stage
    assert "MLflow tracking failed in before_pipeline_run (RuntimeError: store unreachable)" \
        in caplog.text
    assert mlflow.active_run() is None


def test_only_rank_zero_tracks(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    hook = ResilientMlflowHook()
    _run(hook, tmp_path, _pipeline("render", "fit"), {"render": 8, "fit": 16})

    assert hook._tracking_failed
    assert not (tmp_path / "mlflow.db").exists()  # rank 1 never even opened the store


def test_git_commit_of_a_clean_and_a_dirty_tree(tmp_path):
    assert git_commit_of(tmp_path) == (None, False)  # not a repository

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD")
    assert git_commit_of(tmp_path) == (head, False)
    (tmp_path / "untracked.txt").write_text("ignored")  # untracked files do not count
    assert git_commit_of(tmp_path) == (head, False)
    (tmp_path / "a.txt").write_text("two")
    assert git_commit_of(tmp_path) == (head, True)


def _project_context(project: Path) -> SimpleNamespace:
    """A context reading the project's own ``conf/`` (test profile), tracking into ``project``."""
    from rodin_pipelines.settings import CONFIG_LOADER_ARGS

    options = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    loader = OmegaConfigLoader(str(Path(__file__).resolve().parents[1] / "conf"), env="test",
                               **options)
    return SimpleNamespace(config_loader=loader, project_path=project,
                           _package_name="rodin_pipelines", _get_config_credentials=lambda: {})


@pytest.mark.parametrize("existed", [False, True], ids=["created", "reopened"])
def test_the_experiment_is_tagged_as_model_training_when_created_or_reopened(
        tmp_path, monkeypatch, existed):
    """``mlflow.experimentKind`` says model training, not GenAI, whether the run creates the
    experiment or reopens one made before the tag existed."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    client = mlflow.tracking.MlflowClient(store)
    name = "rodin_pipelines_test"  # conf/test/mlflow.yml
    if existed:  # made before the tag existed
        client.create_experiment(name)
    ResilientMlflowHook().after_context_created(_project_context(tmp_path))

    experiment = client.get_experiment_by_name(name)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
