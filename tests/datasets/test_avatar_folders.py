"""The avatar folder dataset: resumable saves, and a killed run that resumes cleanly."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

from rodin_pipelines.avatars.folder import AvatarViews, read_avatar_folder
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset, AvatarJob
from rodin_pipelines.rendering.cameras import orbit_camera_to_world
from rodin_pipelines.rendering.transforms_json import Frame, Transforms


def tiny_avatar(avatar_id: str, value: float) -> AvatarViews:
    images = torch.full((2, 4, 4, 4), value)
    frames = tuple(Frame("", m, "train") for m in orbit_camera_to_world(
        torch.tensor([0.0, 1.0]), torch.zeros(2), 3.0))
    return AvatarViews(avatar_id, images, Transforms(0.7, frames))


def counting_jobs(ids, fingerprint, calls):
    def job(avatar_id):
        def build():
            calls.append(avatar_id)
            return tiny_avatar(avatar_id, 0.5)
        return AvatarJob(fingerprint, build)
    return {avatar_id: job(avatar_id) for avatar_id in ids}


def test_second_save_skips_finished_avatars_and_redoes_changed_ones(tmp_path):
    dataset = AvatarFolderDataset(str(tmp_path), progress=False)
    calls = []
    dataset.save(counting_jobs(["a", "b", "c"], "v1", calls))
    assert calls == ["a", "b", "c"]
    dataset.save(counting_jobs(["a", "b", "c"], "v1", calls))
    assert calls == ["a", "b", "c"] and dataset.last_save.skipped == ("a", "b", "c")
    dataset.save(counting_jobs(["b"], "v2", calls))
    assert calls[-1] == "b" and dataset.last_save.written == ("b",)
    loaded = dataset.load()
    assert sorted(loaded) == ["a", "b", "c"]
    assert loaded["b"]().meta["fingerprint"] == "v2"


def test_an_exception_midway_keeps_finished_avatars_and_no_partial_one(tmp_path):
    dataset = AvatarFolderDataset(str(tmp_path), progress=False)
    calls = []
    jobs = counting_jobs(["a", "b"], "v1", calls)

    def explode():
        raise KeyboardInterrupt

    jobs["c"] = AvatarJob("v1", explode)
    jobs["d"] = counting_jobs(["d"], "v1", calls)["d"]
    try:
        dataset.save(jobs)
    except KeyboardInterrupt:
        pass
    assert sorted(dataset.load()) == ["a", "b"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


KILLED_WRITER = textwrap.dedent("""
    import sys, time, torch
    from rodin_pipelines.avatars.folder import AvatarViews
    from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset, AvatarJob
    from rodin_pipelines.rendering.cameras import orbit_camera_to_world
    from rodin_pipelines.rendering.transforms_json import Frame, Transforms
    import rodin_pipelines.avatars.folder as folder

    def build(i):
        images = torch.full((2, 4, 4, 4), 0.5)
        frames = tuple(Frame("", m, "train") for m in orbit_camera_to_world(
            torch.tensor([0.0, 1.0]), torch.zeros(2), 3.0))
        return AvatarViews(f"avatar_{i}", images, Transforms(0.7, frames))

    original = folder.atomic_write_json
    def slow_json(path, payload):
        # The third avatar hangs while half written, so the parent can kill it there.
        if "avatar_2" in str(path.parent.name) and path.name == "meta.json":
            print("HALF", flush=True)
            time.sleep(60)
        original(path, payload)
    folder.atomic_write_json = slow_json
    jobs = {f"avatar_{i}": AvatarJob("v1", lambda i=i: build(i)) for i in range(5)}
    AvatarFolderDataset(sys.argv[1], progress=False).save(jobs)
""")


def test_a_killed_run_leaves_no_trusted_half_avatar_and_a_rerun_finishes(tmp_path):
    root = tmp_path / "avatars"
    process = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(root)],
                               stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    line = ""
    while "HALF" not in line and time.time() < deadline:
        line = process.stdout.readline()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert "HALF" in line
    dataset = AvatarFolderDataset(str(root), progress=False)
    assert sorted(dataset.load()) == ["avatar_0", "avatar_1"]
    assert any(p.name.startswith(".tmp-avatar_2") for p in Path(root).iterdir())
    calls = []
    dataset.save(counting_jobs([f"avatar_{i}" for i in range(5)], "v1", calls))
    assert calls == ["avatar_2", "avatar_3", "avatar_4"]
    assert not any(p.name.startswith(".tmp") for p in Path(root).iterdir())
    assert read_avatar_folder(root / "avatar_2").images.shape == (2, 4, 4, 4)


PAUSED_SHARD = textwrap.dedent("""
    import sys, torch
    from rodin_pipelines.avatars.folder import AvatarViews
    from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset, AvatarJob
    from rodin_pipelines.rendering.cameras import orbit_camera_to_world
    from rodin_pipelines.rendering.transforms_json import Frame, Transforms
    import rodin_pipelines.avatars.folder as folder

    def build():
        frames = tuple(Frame("", m, "train") for m in orbit_camera_to_world(
            torch.tensor([0.0, 1.0]), torch.zeros(2), 3.0))
        return AvatarViews("shard_0_avatar", torch.full((2, 4, 4, 4), 0.5), Transforms(0.7, frames))

    original = folder.atomic_write_json
    def paused_json(path, payload):
        if path.name == "meta.json":  # half written: wait while the other shard saves
            print("HALF", flush=True)
            sys.stdin.readline()
        original(path, payload)
    folder.atomic_write_json = paused_json
    AvatarFolderDataset(sys.argv[1], progress=False).save({"shard_0_avatar": AvatarJob("v1", build)})
""")


def test_two_shards_saving_into_one_root_keep_each_other_s_folders_in_progress(tmp_path):
    root = tmp_path / "avatars"
    shard_0 = subprocess.Popen([sys.executable, "-c", PAUSED_SHARD, str(root)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert shard_0.stdout.readline().strip() == "HALF"
        # Shard 1 (this process) saves while shard 0's avatar is half written in the same root.
        AvatarFolderDataset(str(root), progress=False).save(
            counting_jobs(["shard_1_avatar"], "v1", []))
        assert any(p.name.startswith(".tmp-shard_0_avatar") for p in root.iterdir())
    finally:
        shard_0.communicate("go on\n", timeout=120)
    assert shard_0.returncode == 0
    assert sorted(AvatarFolderDataset(str(root), progress=False).load()) == [
        "shard_0_avatar", "shard_1_avatar"]
    assert not any(p.name.startswith(".tmp") for p in root.iterdir())
