"""The walkthrough notebook runs top to bottom on a project that ran every stage (test profile)."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"
KEDRO = str(Path(sys.executable).with_name("kedro"))


def kedro_run(project: Path, *args: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environment.update(KEDRO_DISABLE_TELEMETRY="true", HF_HUB_OFFLINE="1")
    result = subprocess.run([KEDRO, "run", "--env", "test", *args], cwd=project,
                            capture_output=True, text=True, env=environment, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def outputs_of(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs]


def test_the_walkthrough_shows_every_stage(project_copy, monkeypatch):
    # The test profile's CLIP takes ~5 s a step on two shared CPU cores; the notebook only needs
    # the stages' outputs, not a good CLIP, so it trains for 6 steps instead of 60.
    kedro_run(project_copy, "--pipelines", "render,fit,encoder,diffusion,evaluate",
              "--params", "encoder.training.trainer.max_steps=6")
    kedro_run(project_copy, "--pipeline", "generate", "--params",
              "generate.mode=text,generate.prompt=a smiling woman with red hair,"
              "generate.name=text")
    kedro_run(project_copy, "--pipeline", "generate", "--params",
              "generate.mode=edit,generate.edit.source=portrait,generate.name=edit")

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells), "commit it without outputs"
    monkeypatch.setenv("RODIN_PROJECT", str(project_copy))
    monkeypatch.setenv("RODIN_KEDRO_ENV", "test")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # Raises CellExecutionError, with the cell and its traceback, if any cell fails.
    NotebookClient(notebook, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(project_copy)}}).execute()

    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert f"project {project_copy}, Kedro environment 'test'" in printed
    for missing in ("No fitted", "No diffusion_gallery", "No evaluate_gallery", "No text avatar",
                    "No edit", "No metrics", "No MLflow run"):
        assert missing not in printed
    # Fit comparison, two galleries, text views, edit pair, loss curve; the turntable is a GIF.
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) >= 6
    assert sum("image/gif" in o.get("data", {}) for o in outputs) == 1
    tables = [o.data["text/plain"] for o in outputs
              if "<table" in o.get("data", {}).get("text/html", "")]
    assert tables, "the metrics table was not displayed"
    for key in ("psnr_mean", "retrieval_text_to_image_top1", "psnr_conditional_vs_truth",
                "fid_clip_ours"):
        assert key in tables[0], key
