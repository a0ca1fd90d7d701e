"""Every writer of a file someone may read while it is written replaces it whole (a new file
renamed into place), flushes it first, and names its temporary per process and call, so two
runs writing one place never write into each other's temporary."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import torch
import yaml

from rodin_pipelines import atomic_files
from rodin_pipelines.avatars.exporter import export_nerf_synthetic
from rodin_pipelines.avatars.folder import AvatarViews
from rodin_pipelines.datasets.table_files import CsvTableDataset
from rodin_pipelines.rendering import turntable
from rodin_pipelines.rendering.cameras import orbit_camera_to_world
from rodin_pipelines.rendering.transforms_json import Frame, Transforms
from rodin_pipelines.training.checkpoints import AtomicCheckpoint


def assert_replaced_whole(path: Path, write) -> None:
    """``write()`` rewrites ``path``: a reader holding the old file (a hard link stands in for
    an open handle) must still see it complete, so the new content came as a new file."""
    reader = path.with_name("reader-holds-the-old-file")
    os.link(path, reader)
    old = reader.read_bytes()
    write()
    assert reader.read_bytes() == old
    assert path.read_bytes() != old
    reader.unlink()
    assert not [p.name for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


DISK_FULL_DURING_A_CLIP_SAVE = """
import resource, signal, sys
import torch
from safetensors.torch import load_file
from torch import nn
from rodin_pipelines.models.clip_loader import save_clip_checkpoint

path = sys.argv[1]
save_clip_checkpoint(nn.Linear(2, 2), path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    save_clip_checkpoint(nn.Linear(200, 200), path)  # 160 kB: fails midway, like a full disk
except Exception as error:
    print("failed as expected:", type(error).__name__)
print(sorted(load_file(path)))
"""


def test_clip_weights_survive_a_save_that_fails_midway(tmp_path):
    path = tmp_path / "clip.safetensors"
    run = subprocess.run([sys.executable, "-c", DISK_FULL_DURING_A_CLIP_SAVE, str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "failed as expected" in run.stdout
    assert "['bias', 'weight']" in run.stdout  # the old weights, complete
    assert [p.name for p in tmp_path.iterdir()] == ["clip.safetensors"]


def test_index_tables_are_replaced_whole(tmp_path):
    dataset = CsvTableDataset(str(tmp_path / "index.csv"))
    dataset.save(pd.DataFrame({"avatar_id": ["a", "b"], "split": ["train", "heldout"]}))
    assert_replaced_whole(tmp_path / "index.csv",
                          lambda: dataset.save(pd.DataFrame({"avatar_id": ["c"], "split": ["x"]})))
    assert dataset.load().to_dict("list") == {"avatar_id": ["c"], "split": ["x"]}


def test_the_catalog_writes_every_table_through_the_atomic_dataset():
    """kedro's ``pandas.CSVDataset`` writes in place; a kill would leave a half-written index."""
    project = Path(__file__).resolve().parents[1]
    entries = {f"{path}: {name}": entry for path in sorted(project.glob("conf/*/catalog*.yml"))
               for name, entry in (yaml.safe_load(path.read_text()) or {}).items()
               if isinstance(entry, dict)}
    assert not [name for name, entry in entries.items() if "CSVDataset" in entry.get("type", "")]
    tables = {name: entry["type"] for name, entry in entries.items()
              if str(entry.get("filepath", "")).endswith(".csv")}
    assert tables and set(tables.values()) == {
        "rodin_pipelines.datasets.table_files.CsvTableDataset"}


def test_exported_pictures_are_replaced_whole(tmp_path):
    frames = tuple(Frame("", m, "train") for m in orbit_camera_to_world(
        torch.tensor([0.0]), torch.zeros(1), 3.0))

    def export(value: float) -> None:
        export_nerf_synthetic(AvatarViews("a", torch.full((1, 4, 4, 4), value),
                                          Transforms(0.7, frames)), tmp_path / "scene")

    export(0.2)
    assert_replaced_whole(tmp_path / "scene" / "train" / "r_0.png", lambda: export(0.8))


def test_a_turntable_written_twice_at_once_by_two_writers_completes_both(tmp_path, monkeypatch):
    path = tmp_path / "turntable.gif"
    frames = torch.rand(2, 8, 8, 4)
    write_pictures = turntable.iio.imwrite
    nested = []

    def second_writer_meanwhile(target, *args, **kwargs):
        write_pictures(target, *args, **kwargs)
        if not nested:  # another run writes the same turntable before this one renames
            nested.append(Path(target).name)
            turntable.write_turntable(frames, path)

    monkeypatch.setattr(turntable.iio, "imwrite", second_writer_meanwhile)
    turntable.write_turntable(frames, path)
    assert "~" in nested[0] and str(os.getpid()) in nested[0]
    assert [p.name for p in tmp_path.iterdir()] == ["turntable.gif"]


def test_checkpoints_are_flushed_and_use_their_own_temporary_names(tmp_path, monkeypatch):
    flushed, events = [], []
    fsync = os.fsync
    monkeypatch.setattr(atomic_files.os, "fsync",
                        lambda handle: (flushed.append(handle), fsync(handle))[1])
    target = tmp_path / "last.ckpt"

    def trainer(content: bytes, meanwhile=None) -> SimpleNamespace:
        def save_checkpoint(path: str, weights_only: bool) -> None:
            Path(path).write_bytes(content)
            events.append(Path(path).name)
            if meanwhile is not None:  # a second run saves into the same folder meanwhile
                meanwhile()
        return SimpleNamespace(save_checkpoint=save_checkpoint, is_global_zero=True,
                               global_step=3, strategy=SimpleNamespace(barrier=lambda: None))

    second = AtomicCheckpoint(dirpath=tmp_path)
    first = AtomicCheckpoint(dirpath=tmp_path)
    first._save_checkpoint(trainer(b"first", lambda: second._save_checkpoint(
        trainer(b"second"), str(target))), str(target))
    assert target.read_bytes() == b"first"  # the later rename wins; neither write failed
    assert len(set(events)) == 2 and all(str(os.getpid()) in name for name in events)
    assert len(flushed) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
