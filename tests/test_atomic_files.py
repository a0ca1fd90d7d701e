"""Atomic writes: complete or absent, never half-written, with ordinary permissions."""

import os

import pytest

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
