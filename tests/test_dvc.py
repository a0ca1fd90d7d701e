"""``dvc repro`` runs the Kedro stages, a second repro finds everything up to date, and a stage
reruns when the parameters of the Kedro environment it runs in changed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path, kedro_env: str = "test") -> str:
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    environment.update(KEDRO_ENV=kedro_env, KEDRO_DISABLE_TELEMETRY="true", HF_HUB_OFFLINE="1",
                       PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment,
                            timeout=1800)  # a loaded machine: slow, not an error (issue 17)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def commit_to_git(project: Path) -> None:
    run(["git", "init", "-q"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], project)


@pytest.mark.slow
def test_dvc_repro_twice(project_copy):
    commit_to_git(project_copy)
    (project_copy / "dvc.lock").unlink(missing_ok=True)
    first = run(["dvc", "repro"], project_copy)
    assert "Running stage 'render'" in first
    assert len(list((project_copy / "data/01_raw/avatars").iterdir())) == 8
    assert (project_copy / "metrics/render.json").is_file()
    sheet = project_copy / "data/08_reporting/render_contact_sheet.png"
    written = sheet.stat().st_mtime_ns
    second = run(["dvc", "repro"], project_copy)
    # Only the `parameters` stage runs again (always: it reads KEDRO_ENV); it finds the same
    # parameters, so every Kedro stage is skipped.
    assert "Running stage 'parameters'" in second and "Running stage 'render'" not in second
    assert "Stage 'render' didn't change, skipping" in second
    assert sheet.stat().st_mtime_ns == written
    status = json.loads(run(["dvc", "status", "--json"], project_copy))
    assert status == {"parameters": ["always changed"]}


def changed_parameters(project: Path, stage: str) -> dict:
    """The parameter keys ``dvc status`` reports changed for ``stage`` (empty: up to date)."""
    entries = json.loads(run(["dvc", "status", "--json", stage], project)).get(stage, [])
    return {key: change for entry in entries if isinstance(entry, dict)
            for key, change in entry.get("changed deps", {}).get("params.yaml", {}).items()}


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.slow  # DVC and Kedro's config loader in nine subprocesses
def test_dvc_sees_the_parameters_of_the_kedro_environment(project_copy):
    """Before, the stages read conf/base only: a change in conf/test (or KEDRO_ENV=paper) was
    not a change. The render stage is recorded as done (placeholder outputs, `dvc commit`)
    rather than run."""
    commit_to_git(project_copy)
    (project_copy / "dvc.lock").unlink(missing_ok=True)
    run(["dvc", "repro", "parameters"], project_copy)
    for folder in ("data/01_raw/avatars", "data/01_raw/clip_avatars"):
        (project_copy / folder).mkdir(parents=True, exist_ok=True)
        (project_copy / folder / "placeholder").write_text("x")
    for file in ("data/01_raw/avatar_index.csv", "data/01_raw/clip_avatar_index.csv",
                 "data/08_reporting/render_contact_sheet.png", "metrics/render.json"):
        (project_copy / file).parent.mkdir(parents=True, exist_ok=True)
        (project_copy / file).write_text("{}")
    run(["dvc", "commit", "--force", "render"], project_copy)
    assert changed_parameters(project_copy, "render") == {}

    paper_render = project_copy / "conf/paper/parameters_render.yml"
    replace_in(paper_render, "  avatars: 100000\n", "  avatars: 90000\n")  # not the one run
    run(["dvc", "repro", "parameters"], project_copy)
    assert changed_parameters(project_copy, "render") == {}
    run(["dvc", "repro", "parameters"], project_copy, kedro_env="paper")  # the profile switched
    assert changed_parameters(project_copy, "render") == {"render": "modified"}
    test_render = project_copy / "conf/test/parameters_render.yml"
    replace_in(test_render, "  avatars: 8\n", "  avatars: 9\n")  # the profile recorded
    run(["dvc", "repro", "parameters"], project_copy)
    assert changed_parameters(project_copy, "render") == {"render": "modified"}
