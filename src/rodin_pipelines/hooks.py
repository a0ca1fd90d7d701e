"""Project hooks: MLflow tracking through kedro-mlflow that can never kill a run, and the exit
status of a run whose training a signal stopped."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro_mlflow.framework.hooks import MlflowHook

from rodin_pipelines.pipeline_registry import stage_of
from rodin_pipelines.sharding import launched_rank
from rodin_pipelines.training.interruption import TrainingInterrupted

logger = logging.getLogger(__name__)


def git_commit_of(path: Path) -> tuple[str | None, bool]:
    """The commit checked out at ``path`` and whether the work tree has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None, False
    return commit, bool(status)


class ResilientMlflowHook(MlflowHook):
    """kedro-mlflow's hook (one MLflow run per ``kedro run``, named after the pipeline, with its
    parameters) that turns any tracking failure into a warning and goes on without tracking.

    A run of several stages (``kedro run``, ``--pipelines fit,encoder``) tracks each stage in its
    own run, nested under the run of the whole, so stages compare side by side in the UI as they
    do when run one by one. Every run is tagged with the git commit (and whether the tree was
    dirty).
    """

    def __init__(self) -> None:
        super().__init__()
        self._tracking_failed = False
        self._project_path: Path | None = None
        self._run_per_stage = False
        self._stage: str | None = None
        self._whole_run_id: str | None = None
        self._stage_runs: dict[str, str] = {}

    def _guard(self, stage: str, call: Any) -> None:
        if self._tracking_failed:
            return
        try:
            call()
        except Exception as error:  # noqa: BLE001 - tracking must never kill a run
            self._tracking_failed = True
            logger.warning(
                "MLflow tracking failed in %s (%s: %s); the run goes on without tracking. "
                "Check mlflow_tracking_uri in conf/base/mlflow.yml or MLFLOW_TRACKING_URI.",
                stage, type(error).__name__, error,
            )
            _end_active_run("FAILED")

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._project_path = Path(context.project_path)
        if launched_rank() != 0:
            # Under torchrun or srun every process runs the pipeline; one MLflow run per stage
            # means only rank 0 tracks (Lightning's logger follows the active run, so the other
            # ranks log nothing either).
            self._tracking_failed = True
            return
        self._guard("after_context_created", lambda: super(ResilientMlflowHook, self)
                    .after_context_created(context))
        self._tag_experiment()

    @hook_impl
    def after_catalog_created(self, catalog: Any, conf_catalog: Any, conf_creds: Any,
                              parameters: Any, save_version: Any, load_versions: Any) -> None:
        self._guard("after_catalog_created", lambda: super(ResilientMlflowHook, self)
                    .after_catalog_created(catalog, conf_catalog, conf_creds, parameters,
                                           save_version, load_versions))

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._guard("before_pipeline_run", lambda: super(ResilientMlflowHook, self)
                    .before_pipeline_run(run_params, pipeline, catalog))
        self._guard("git tags", self._tag_git_commit)
        stages = {stage_of(node.tags) for node in pipeline.nodes} - {None}
        tracking = not self._tracking_failed and getattr(self, "_is_mlflow_enabled", False)
        self._run_per_stage = tracking and len(stages) > 1
        self._stage, self._whole_run_id, self._stage_runs = None, self.run_id, {}

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any],
                        is_async: bool, run_id: str | None = None) -> None:
        stage = stage_of(node.tags)
        if self._run_per_stage and stage is not None and stage != self._stage:
            self._guard("stage run", lambda: self._start_stage_run(stage))
        self._guard("before_node_run", lambda: super(ResilientMlflowHook, self)
                    .before_node_run(node, catalog, inputs, is_async))

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._guard("after_pipeline_run", lambda: super(ResilientMlflowHook, self)
                    .after_pipeline_run(run_params, pipeline, catalog))
        self._end_outer_runs("FINISHED")

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any,
                          catalog: Any) -> None:
        self._guard("on_pipeline_error", lambda: super(ResilientMlflowHook, self)
                    .on_pipeline_error(error, run_params, pipeline, catalog))
        self._end_outer_runs("FAILED")

    def _start_stage_run(self, stage: str) -> None:
        """Switch tracking to ``stage``'s run, nested under the run of the whole: a new run the
        first time, the same one again when the runner comes back to the stage (nodes of
        independent stages interleave).

        kedro-mlflow re-activates ``self.run_id`` before every node, so pointing it at the
        stage's run makes its parameter logging and every later dataset or Lightning log land
        there."""
        import mlflow

        # kedro-mlflow re-opens its run before each node, so a run may sit on MLflow's stack
        # several times: close until the run of the whole is on top.
        while (mlflow.active_run() is not None
               and mlflow.active_run().info.run_id != self._whole_run_id):
            mlflow.end_run()
        if stage in self._stage_runs:
            mlflow.start_run(run_id=self._stage_runs[stage], nested=True)
        else:
            mlflow.start_run(run_name=stage, nested=True)
            self._stage_runs[stage] = mlflow.active_run().info.run_id
            mlflow.set_tag("stage", stage)
            self._tag_git_commit()
        self.run_id = self._stage_runs[stage]
        self._stage = stage

    def _end_outer_runs(self, status: str) -> None:
        """After the stage runs, the run of the whole is still open: close it."""
        if self._run_per_stage and not getattr(self, "_already_active_mlflow", False):
            _end_active_run(status, every=True)
        self._run_per_stage, self._stage = False, None

    def _tag_experiment(self) -> None:
        """The experiment's configured tags (``tracking.experiment.create_experiment_kwargs.tags``
        in ``conf/base/mlflow.yml``) on a reopened experiment too: kedro-mlflow sets them only
        when it creates one. ``mlflow.experimentKind`` says the experiment is model training,
        not GenAI; MLflow 3.17's UI picks its view from its sidebar switch instead (README)."""
        config = getattr(self, "mlflow_config", None)
        if config is None or self._tracking_failed or getattr(self, "_already_active_mlflow",
                                                              False):
            return  # an orchestrator's run: its experiment is not ours to retag
        try:
            tags = config.tracking.experiment.create_experiment_kwargs.tags or {}
            experiment = config.tracking.experiment._experiment
            for key, value in tags.items():
                if experiment.tags.get(key) != str(value):  # write only what differs
                    config.server._mlflow_client.set_experiment_tag(
                        experiment.experiment_id, key, str(value))
        except Exception as error:  # noqa: BLE001 - a missing tag is no reason to stop tracking
            logger.warning("Could not tag the MLflow experiment (%s: %s); runs are tracked "
                           "as usual.", type(error).__name__, error)

    def _tag_git_commit(self) -> None:
        import mlflow

        if mlflow.active_run() is None or self._project_path is None:
            return
        commit, dirty = git_commit_of(self._project_path)
        if commit is not None:
            mlflow.set_tags({"git_commit": commit, "mlflow.source.git.commit": commit,
                             "git_dirty": str(dirty).lower()})


def _end_active_run(status: str, every: bool = False) -> None:
    """End the active MLflow run (``every``: and the runs it is nested in), never raising."""
    try:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run(status)
            if not every:
                break
    except Exception:  # noqa: BLE001
        pass


def interruption_in(error: BaseException | None) -> TrainingInterrupted | None:
    """The :class:`TrainingInterrupted` behind ``error`` (a dataset may wrap it), if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, TrainingInterrupted):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


class InterruptedRunHook:
    """A run whose training a signal stopped ends with ``128 + signal`` (143 for SIGTERM, 130
    for Ctrl-C), saying where the state is and how to resume, never with status 0 or 1.

    Registered first so that it runs after the other hooks' error handlers (pluggy calls the
    last registered first): the exit it raises stops the calls that would follow.
    """

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any,
                          catalog: Any) -> None:
        interrupted = interruption_in(error)
        if interrupted is None:
            return
        logger.error("Run interrupted: %s. The stages before it are complete; this one is not.",
                     interrupted)
        raise SystemExit(interrupted.exit_code)


HOOKS = (InterruptedRunHook(), ResilientMlflowHook())
