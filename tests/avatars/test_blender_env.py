"""``blender_env --path X`` replaces only what it made: a folder of anything else is refused
and left as it was (no bpy needed: the installing subprocesses are faked)."""

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from rodin_pipelines.avatars.backends import blender_env


def fake_installer(calls: list[list[str]]):
    """Stands in for ``python -m venv``, ``pip install`` and the version probe."""
    def run(command, **kwargs):
        calls.append(command)
        if command[1:3] == ["-m", "venv"]:
            staging = Path(command[-1])
            (staging / "bin").mkdir(parents=True)
            (staging / "bin" / "python").write_text("")
        return SimpleNamespace(stdout="4.5.15 1.26.4\n")
    return run


def test_a_folder_that_is_not_ours_is_refused_and_kept(tmp_path, monkeypatch, capsys):
    precious = tmp_path / "my-project"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    calls: list[list[str]] = []
    monkeypatch.setattr(blender_env.subprocess, "run", fake_installer(calls))

    for force in ([], ["--force"]):
        with pytest.raises(SystemExit) as stopped:
            blender_env.main(["--path", str(precious), *force])
        assert stopped.value.code == 2
        assert "is not a Blender environment made by this command" in capsys.readouterr().err
    assert calls == []
    assert [p.name for p in precious.iterdir()] == ["thesis.tex"]
    assert [p.name for p in tmp_path.iterdir()] == ["my-project"]


def test_an_empty_folder_or_one_of_ours_is_made_into_an_environment(tmp_path, monkeypatch):
    calls: list[list[str]] = []
    monkeypatch.setattr(blender_env.subprocess, "run", fake_installer(calls))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert blender_env.create_environment(empty, python="python3.11").exists()
    assert blender_env.environment_problem(empty) is None

    # An environment of ours for another bpy release is ours to rebuild.
    marker = empty / blender_env.MARKER_FILE
    marker.write_text('{"requirement": "bpy==4.2.0"}')
    blender_env.create_environment(empty, python="python3.11")
    assert blender_env.environment_problem(empty) is None
    assert len(calls) == 6  # venv, pip, probe; twice
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]
