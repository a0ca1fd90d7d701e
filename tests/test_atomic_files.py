"""Atomic writes: complete or absent, never half-written, with ordinary permissions."""

import os
import subprocess
import sys
from contextlib import nullcontext

import pytest

from rodin_pipelines import atomic_files
from rodin_pipelines.atomic_files import (
    atomic_directory,
    atomic_write_text,
    remove_stale_temporaries,
)


def test_file_appears_complete_with_umask_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "hello")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert oct((tmp_path / "a.txt").stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failed_folder_write_keeps_the_old_folder(tmp_path):
    with atomic_directory(tmp_path / "d") as staging:
        (staging / "x").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "d") as staging:
        (staging / "x").write_text("2")
        raise RuntimeError("killed")
    assert (tmp_path / "d" / "x").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / ".tmp-avatar-123").mkdir()
    (tmp_path / ".tmp-file").write_text("partial")
    (tmp_path / "kept").mkdir()
    assert remove_stale_temporaries(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]


KILLED_BETWEEN_ASIDE_AND_SWAP = """
import os, sys
from pathlib import Path
from rodin_pipelines import atomic_files

atomic_files._exchange = lambda first, second: False  # the portable path: aside, swap, delete
rename = os.replace


def killed_on_the_swap(source, target):
    if Path(source).name.startswith(".tmp-d~") and "aside." not in Path(source).name \\
            and Path(target).name == "d":
        os._exit(9)  # a SIGKILL: no cleanup runs
    rename(source, target)


os.replace = killed_on_the_swap
with atomic_files.atomic_directory(Path(sys.argv[1]) / "d") as staging:
    (staging / "x").write_text("2")
"""


def test_a_kill_during_a_folder_swap_never_loses_the_old_folder(tmp_path):
    with atomic_directory(tmp_path / "d") as staging:
        (staging / "x").write_text("1")
    killed = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_ASIDE_AND_SWAP, str(tmp_path)])
    assert killed.returncode == 9
    # The old folder still exists (set aside); the next clean-up puts it back under its name.
    remove_stale_temporaries(tmp_path)
    assert (tmp_path / "d" / "x").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


KILLED_BETWEEN_SWAP_AND_DELETE = """
import os, sys
from pathlib import Path
from rodin_pipelines import atomic_files

atomic_files._exchange = lambda first, second: False
atomic_files.shutil.rmtree = lambda *args, **kwargs: os._exit(9)  # before the old one goes
with atomic_files.atomic_directory(Path(sys.argv[1]) / "d") as staging:
    (staging / "x").write_text("2")
"""


@pytest.mark.parametrize("next_write", ["succeeds", "fails"])
def test_the_next_folder_write_settles_a_swap_killed_midway(tmp_path, next_write):
    """No clean-up call in between: ``atomic_directory`` itself puts the old folder back."""
    with atomic_directory(tmp_path / "d") as staging:
        (staging / "x").write_text("1")
    killed = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_ASIDE_AND_SWAP, str(tmp_path)])
    assert killed.returncode == 9 and not (tmp_path / "d").exists()
    with pytest.raises(RuntimeError) if next_write == "fails" else nullcontext():
        with atomic_directory(tmp_path / "d") as staging:
            (staging / "y").write_text("3")
            if next_write == "fails":
                raise RuntimeError("failed")
    expected = {"x": "1"} if next_write == "fails" else {"y": "3"}
    assert {p.name: p.read_text() for p in (tmp_path / "d").iterdir()} == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_the_next_folder_write_deletes_an_old_folder_the_swap_had_replaced(tmp_path):
    with atomic_directory(tmp_path / "d") as staging:
        (staging / "x").write_text("1")
    killed = subprocess.run([sys.executable, "-c", KILLED_BETWEEN_SWAP_AND_DELETE, str(tmp_path)])
    assert killed.returncode == 9 and (tmp_path / "d" / "x").read_text() == "2"
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "d"):
        raise RuntimeError("failed")
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["x"]
    assert (tmp_path / "d" / "x").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("exchange", [True, False])
def test_a_folder_swap_replaces_the_old_folder_whole(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic_files, "_exchange", lambda first, second: False)
    with atomic_directory(tmp_path / "d") as staging:
        (staging / "old-only").write_text("1")
    with atomic_directory(tmp_path / "d") as staging:
        (staging / "x").write_text("2")
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


HOLDS_A_TEMPORARY_FOLDER = """
import sys
from pathlib import Path
from rodin_pipelines.atomic_files import atomic_directory

with atomic_directory(Path(sys.argv[1]) / "slow") as staging:
    (staging / "x").write_text("in progress")
    print(staging.name, flush=True)
    sys.stdin.readline()  # until the parent has cleaned up
"""


def test_cleaning_spares_a_running_writer_s_temporaries(tmp_path):
    (tmp_path / ".tmp-legacy").mkdir()  # an old unowned name
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    host = atomic_files.temporary_prefix("x").split("~")[1]
    (tmp_path / f".tmp-gone~{host}~{dead}~abc").mkdir()  # its writer has exited
    writer = subprocess.Popen([sys.executable, "-c", HOLDS_A_TEMPORARY_FOLDER, str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        in_progress = writer.stdout.readline().strip()
        assert remove_stale_temporaries(tmp_path) == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == [in_progress]
    finally:
        writer.communicate("done\n", timeout=60)
    assert writer.returncode == 0
    assert (tmp_path / "slow" / "x").read_text() == "in progress"
