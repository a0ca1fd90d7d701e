"""The fit stage end to end on the test profile, on real files in a temporary folder."""

from pathlib import Path

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from rodin_pipelines.settings import load_parameters
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.datasets.fit_files import (
    PlaneStatisticsDataset,
    SharedDecoderDataset,
    TriplaneFolderDataset,
)
from rodin_pipelines.datasets.mesh_files import MeshFolderDataset
from rodin_pipelines.pipelines.fit import create_pipeline as fit_pipeline
from rodin_pipelines.pipelines.render import create_pipeline as render_pipeline
from rodin_pipelines.triplane.decoder import decoder_fingerprint

CONF = Path(__file__).resolve().parents[2] / "conf"


def load_test_parameters() -> dict:
    return load_parameters(CONF, "test")


def catalog_in(folder: Path, params: dict) -> DataCatalog:
    datasets = {
        "avatars": AvatarFolderDataset(str(folder / "avatars"), progress=False),
        "avatar_index": CSVDataset(filepath=str(folder / "index.csv"), save_args={"index": False}),
        "shared_decoder": SharedDecoderDataset(str(folder / "decoder")),
        "triplanes": TriplaneFolderDataset(str(folder / "triplanes"), progress=False),
        "plane_statistics": PlaneStatisticsDataset(str(folder / "stats.safetensors")),
        "fit_meshes": MeshFolderDataset(str(folder / "meshes"), artifact_path=None),
    }
    for name, value in {"render": params["render"], "fit": params["fit"]}.items():
        datasets[f"params:{name}"] = MemoryDataset(value)
        for key, sub in value.items():
            datasets[f"params:{name}.{key}"] = MemoryDataset(sub)
    return DataCatalog(datasets)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    params = load_test_parameters()
    catalog = catalog_in(folder, params)
    SequentialRunner().run(render_pipeline(), catalog)
    outputs = SequentialRunner().run(fit_pipeline(), catalog)
    return folder, params, catalog, {k: v.load() for k, v in outputs.items()}


def test_every_avatar_gets_a_triplane_with_its_decoder(fitted):
    folder, params, catalog, _ = fitted
    avatars = sorted(p.name for p in (folder / "avatars").iterdir())
    planes = catalog.load("triplanes")
    assert sorted(planes) == avatars
    tensor, metadata = planes[avatars[0]]()
    fit = params["fit"]
    assert tuple(tensor.shape) == (3, fit["decoder"]["channels"], fit["resolution"],
                                   fit["resolution"])
    assert metadata["decoder_fingerprint"] == decoder_fingerprint(
        catalog.load("shared_decoder").decoder)
    assert {m["phase"] for _, m in (p() for p in planes.values())} == {"1", "2"}


def test_fit_quality_metrics_pictures_statistics_and_meshes(fitted):
    folder, params, catalog, outputs = fitted
    metrics = outputs["fit_metrics"]
    assert metrics["avatars_evaluated"] == params["fit"]["evaluation"]["avatars"]
    print("test-profile fit metrics:", metrics)
    assert metrics["psnr_mean"] > 17.0, metrics  # vs ~10 dB for an untrained tri-plane
    table = outputs["fit_quality"]
    assert set(table.columns) >= {"avatar_id", "psnr", "ssim", "psnr_rescaled"}
    grid = outputs["fit_comparison"]
    assert grid.dtype == np.uint8 and grid.ndim == 3
    assert outputs["fit_loss_curves"].shape[-1] == 3
    stats = catalog.load("plane_statistics")
    assert stats.mean.shape == (params["fit"]["decoder"]["channels"],)
    assert (stats.std > 0).all()
    meshes = list((folder / "meshes").glob("*.glb"))
    assert len(meshes) == params["fit"]["meshes"]["avatars"]


def test_a_rerun_skips_everything_already_fitted(fitted):
    folder, params, _, _ = fitted
    catalog = catalog_in(folder, params)
    decoder_json = (folder / "decoder" / "phase1.json").stat().st_mtime_ns
    SequentialRunner().run(fit_pipeline().only_nodes("fit_shared_decoder", "fit_triplanes"),
                           catalog)
    assert (folder / "decoder" / "phase1.json").stat().st_mtime_ns == decoder_json
    report = catalog._get_dataset("triplanes").last_save if hasattr(catalog, "_get_dataset") \
        else catalog["triplanes"].last_save
    assert report.written == () and len(report.skipped) == len(list((folder / "avatars").iterdir()))
