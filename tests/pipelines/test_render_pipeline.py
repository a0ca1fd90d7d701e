"""The render pipeline on an in-memory catalog (the Kedro starters' pattern, with numbers)."""

from pathlib import Path

import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.pipelines.render import create_pipeline

PARAMS = {
    "avatars": 5, "seed": 11, "heldout_every": 5,
    "views": {"views": 6, "image_size": 24, "holdout_every": 3, "paraphrases": 2},
    "camera_rig": {"radius": 2.8, "fov_x_degrees": 40.0},
    "scene": {"grid_resolution": 40},
    "backend": {"_target_": "rodin_pipelines.avatars.backends.torch_renderer.TorchAvatarRenderer"},
    "backends": {"torch": {"coarse_samples": 24, "fine_samples": 8}},
    "clip_set": {"avatars": 3, "seed": 500, "views": 1, "heldout_every": 3},
    "shard": {"index": None, "count": None},
    "contact_sheet": {"avatars": 3, "views": 4, "scale": 2},
}


def run_render(root: Path, params: dict) -> tuple[DataCatalog, dict]:
    """Run the pipeline; returns the catalog and the free outputs (sheet, metrics)."""
    catalog = DataCatalog({
        "avatars": AvatarFolderDataset(str(root), progress=False),
        "avatar_index": CSVDataset(filepath=str(root.parent / f"{root.name}_index.csv")),
        "clip_avatars": AvatarFolderDataset(str(root.parent / f"{root.name}_clip"),
                                            progress=False),
        "clip_avatar_index": CSVDataset(
            filepath=str(root.parent / f"{root.name}_clip_index.csv")),
        "params:render": MemoryDataset(params),
        "params:render.contact_sheet": MemoryDataset(params["contact_sheet"]),
    })
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    return catalog, {name: outputs[name].load() if hasattr(outputs[name], "load")
                     else outputs[name] for name in outputs}


def test_render_pipeline_writes_avatars_index_sheet_and_metrics(tmp_path):
    catalog, outputs = run_render(tmp_path / "avatars", PARAMS)
    index = catalog.load("avatar_index")
    assert list(index["avatar_id"]) == [f"avatar_{i:06d}" for i in range(5)]
    assert list(index["split"]).count("heldout") == 1
    assert index["caption"].str.len().min() > 10
    sheet = outputs["render_contact_sheet"]
    assert sheet.dtype == np.uint8 and sheet.shape[0] > sheet.shape[1] * 0.5
    metrics = outputs["render_metrics"]
    assert metrics["avatars"] == 5 and metrics["views_per_avatar"] == 7
    assert 0.1 < metrics["mean_alpha_coverage"] < 0.8
    assert len(list((tmp_path / "avatars").iterdir())) == 5
    assert metrics["clip_set_avatars"] == 3


def test_the_clip_set_is_other_avatars_with_a_frontal_and_few_views(tmp_path):
    catalog, _ = run_render(tmp_path / "avatars", PARAMS)
    main, extra = catalog.load("avatar_index"), catalog.load("clip_avatar_index")
    assert list(extra["avatar_id"]) == [f"clip_avatar_{i:06d}" for i in range(3)]
    assert list(extra["split"]) == ["train", "train", "heldout"]
    assert set(extra["seed"]).isdisjoint(main["seed"])
    assert list(extra.columns) == list(main.columns)
    avatar = catalog.load("clip_avatars")["clip_avatar_000000"]()
    assert avatar.images.shape == (2, 24, 24, 4)
    assert avatar.split_indices("frontal") == [0] and avatar.captions


def test_a_clip_set_of_none_is_an_empty_table_with_the_columns(tmp_path):
    run_render(tmp_path / "avatars", PARAMS)  # its folders stay on disk: they count no more
    catalog, outputs = run_render(tmp_path / "avatars",
                                  {**PARAMS, "clip_set": {**PARAMS["clip_set"], "avatars": 0}})
    extra = catalog.load("clip_avatar_index")
    assert len(extra) == 0 and "glasses" in extra.columns
    assert outputs["render_metrics"]["clip_set_avatars"] == 0


def test_sharded_processes_split_the_avatars(tmp_path, monkeypatch):
    done = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        params = {**PARAMS, "avatars": 4, "clip_set": {**PARAMS["clip_set"], "avatars": 0}}
        run_render(tmp_path / f"rank{rank}", params)
        done.append(sorted(p.name for p in (tmp_path / f"rank{rank}").iterdir()))
    assert done == [["avatar_000000", "avatar_000002"], ["avatar_000001", "avatar_000003"]]
