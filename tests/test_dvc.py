"""``dvc repro`` runs the Kedro stages, and a second repro finds everything up to date."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environment.update(KEDRO_ENV="test", KEDRO_DISABLE_TELEMETRY="true", HF_HUB_OFFLINE="1",
                       PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment,
                            timeout=1800)  # a loaded machine: slow, not an error (issue 17)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_dvc_repro_twice(project_copy):
    run(["git", "init", "-q"], project_copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"], project_copy)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
        project_copy)
    (project_copy / "dvc.lock").unlink(missing_ok=True)
    first = run(["dvc", "repro"], project_copy)
    assert "Running stage 'render'" in first
    assert len(list((project_copy / "data/01_raw/avatars").iterdir())) == 8
    assert (project_copy / "metrics/render.json").is_file()
    sheet = project_copy / "data/08_reporting/render_contact_sheet.png"
    written = sheet.stat().st_mtime_ns
    second = run(["dvc", "repro"], project_copy)
    assert "up to date" in second
    assert sheet.stat().st_mtime_ns == written
    status = run(["dvc", "status"], project_copy)
    assert "up to date" in status
