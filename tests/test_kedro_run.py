"""``kedro run`` for real, in a copy of the project: MLflow run, resumability, tracking failure."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).with_name("kedro"))


def kedro_run(project: Path, *args: str, timeout: float,
              env: dict | None = None) -> subprocess.CompletedProcess:
    # The test profile's own SQLite store, unless a test points tracking elsewhere.
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environment.update(KEDRO_DISABLE_TELEMETRY="true", HF_HUB_OFFLINE="1", **(env or {}))
    result = subprocess.run([KEDRO, "run", "--env", "test", *args], cwd=project,
                            capture_output=True, text=True, env=environment, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_render_run_is_tracked_in_mlflow_and_resumes(project_copy, subprocess_timeout):
    kedro_run(project_copy, "--pipeline", "render", timeout=subprocess_timeout)
    avatars = sorted(p.name for p in (project_copy / "data/01_raw/avatars").iterdir())
    assert len(avatars) == 8
    assert (project_copy / "data/08_reporting/render_contact_sheet.png").stat().st_size > 1000

    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow-test.db'}")
    runs = mlflow.search_runs(experiment_names=["rodin_pipelines_test"], output_format="list")
    assert [run.info.run_name for run in runs] == ["render"]
    run = runs[0]
    assert run.data.params["render.avatars"] == "8"
    assert run.data.params["render.views.image_size"] == "32"
    assert run.data.metrics["render/avatars"] == 8.0
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "render")]
    assert artifacts == ["render/render_contact_sheet.png"]

    modified = (project_copy / "data/01_raw/avatars" / avatars[0] / "meta.json").stat().st_mtime_ns
    second = kedro_run(project_copy, "--pipeline", "render", "--params", "render.seed=0",
                       timeout=subprocess_timeout)
    assert "skipped=8" in second.stderr + second.stdout
    after = (project_copy / "data/01_raw/avatars" / avatars[0] / "meta.json").stat().st_mtime_ns
    assert after == modified


def test_a_run_of_three_stages_tracks_each_in_its_own_run_with_pictures(project_copy,
                                                                       subprocess_timeout):
    kedro_run(project_copy, "--pipelines", "render,fit,encoder", timeout=subprocess_timeout)
    assert len(list((project_copy / "data/04_feature/triplanes").glob("*.safetensors"))) == 8
    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow-test.db'}")
    runs = {run.info.run_name: run for run in mlflow.search_runs(
        experiment_names=["rodin_pipelines_test"], output_format="list")}
    assert {"render", "fit", "encoder"} <= set(runs) and len(runs) == 4  # and the whole's
    whole = next(run for name, run in runs.items() if name not in ("render", "fit", "encoder"))
    client = mlflow.MlflowClient()
    for stage in ("render", "fit", "encoder"):
        run = runs[stage]
        assert run.data.tags["mlflow.parentRunId"] == whole.info.run_id
        assert run.info.status == "FINISHED" and run.data.tags["stage"] == stage
        assert "git_commit" in run.data.tags or "git_dirty" not in run.data.tags
    assert whole.info.status == "FINISHED"

    fit, render = runs["fit"], runs["render"]
    assert fit.data.metrics["fit/psnr_mean"] > 15.0
    assert fit.data.params["fit.resolution"] == "16" and "fit.resolution" not in render.data.params
    assert render.data.params["render.avatars"] == "8" and "render.avatars" not in fit.data.params
    assert render.data.metrics["render/avatars"] == 8.0 and "render/avatars" not in fit.data.metrics
    pictures = {a.path for a in client.list_artifacts(fit.info.run_id, "fit")}
    assert {"fit/fit_comparison.png", "fit/fit_loss_curves.png", "fit/meshes"} <= pictures
    assert [a.path for a in client.list_artifacts(render.info.run_id, "render")] == [
        "render/render_contact_sheet.png"]
    encoder = runs["encoder"]
    assert 0.0 <= encoder.data.metrics["encoder/zero_shot_hat_presence_balanced"] <= 1.0
    assert "encoder/retrieval_chance" in encoder.data.metrics
    assert "fit/psnr_mean" not in encoder.data.metrics
    assert [a.path for a in client.list_artifacts(encoder.info.run_id, "encoder")] == [
        "encoder/encoder_clip_quality.png"]


def test_a_broken_tracking_store_does_not_kill_the_run(project_copy, subprocess_timeout):
    blocker = project_copy / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    broken = {"MLFLOW_TRACKING_URI": f"sqlite:///{blocker}/mlflow.db"}
    result = kedro_run(project_copy, "--pipeline", "render", "--params", "render.avatars=2",
                       timeout=subprocess_timeout, env=broken)
    assert "MLflow tracking failed" in result.stdout + result.stderr
    assert len(list((project_copy / "data/01_raw/avatars").iterdir())) == 2
    assert (project_copy / "metrics/render.json").is_file()
