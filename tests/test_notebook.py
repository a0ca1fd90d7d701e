"""The walkthrough notebook runs top to bottom on a project that ran every stage (test profile)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def outputs_of(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs]


def test_the_walkthrough_shows_every_stage(trained_test_project, run_kedro, monkeypatch):
    # The session's trained project (tests/conftest.py: render → diffusion, short CLIP
    # training); the notebook needs evaluate's pictures and a text and an edit result too.
    project = trained_test_project
    run_kedro(project, "--pipeline", "evaluate")
    run_kedro(project, "--pipeline", "generate", "--params",
              "generate.mode=text,generate.prompt=a smiling woman with red hair,"
              "generate.name=text")
    run_kedro(project, "--pipeline", "generate", "--params",
              "generate.mode=edit,generate.edit.source=portrait,generate.name=edit")

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells), "commit it without outputs"
    monkeypatch.setenv("RODIN_PROJECT", str(project))
    monkeypatch.setenv("RODIN_KEDRO_ENV", "test")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # Raises CellExecutionError, with the cell and its traceback, if any cell fails.
    NotebookClient(notebook, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(project)}}).execute()

    outputs = outputs_of(notebook)
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert f"project {project}, Kedro environment 'test'" in printed
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
