"""The encoder stage on the test profile: CLIP weights, embeddings, quality metrics, resume."""

from pathlib import Path

import numpy as np
import pytest
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from rodin_pipelines.settings import load_parameters
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.datasets.fit_files import TensorFileDataset
from rodin_pipelines.datasets.image_files import PngDataset
from rodin_pipelines.datasets.metrics_files import MetricsJsonDataset
from rodin_pipelines.pipelines.encoder import create_pipeline as encoder_pipeline
from rodin_pipelines.pipelines.render import create_pipeline as render_pipeline

CONF = Path(__file__).resolve().parents[2] / "conf"


def load_profile(folder: Path) -> dict:
    params = load_parameters(CONF, "test")
    params["encoder"]["training"]["trainer"]["checkpoint_dir"] = str(folder / "checkpoints")
    params["encoder"]["prior"]["trainer"]["checkpoint_dir"] = str(folder / "prior_checkpoints")
    return params


def catalog_in(folder: Path, params: dict) -> DataCatalog:
    datasets = {
        "avatars": AvatarFolderDataset(str(folder / "avatars"), progress=False),
        "avatar_index": CSVDataset(filepath=str(folder / "index.csv"), save_args={"index": False}),
        "clip_avatars": AvatarFolderDataset(str(folder / "clip_avatars"), progress=False),
        "clip_avatar_index": CSVDataset(filepath=str(folder / "clip_index.csv"),
                                        save_args={"index": False}),
        "clip_weights": TensorFileDataset(str(folder / "clip.safetensors")),
        "avatar_embeddings": TensorFileDataset(str(folder / "embeddings.safetensors")),
        "caption_embeddings": TensorFileDataset(str(folder / "captions.safetensors")),
        "near_frontal_embeddings": TensorFileDataset(str(folder / "near_frontal.safetensors")),
        "embedding_prior": TensorFileDataset(str(folder / "prior.safetensors")),
        "encoder_clip_chart": PngDataset(str(folder / "clip_quality.png")),
        "encoder_metrics": MetricsJsonDataset(str(folder / "encoder.json")),
        "params:render": MemoryDataset(params["render"]),
        "params:render.contact_sheet": MemoryDataset(params["render"]["contact_sheet"]),
        "params:encoder": MemoryDataset(params["encoder"]),
    }
    return DataCatalog(datasets)




@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoder")
    params = load_profile(folder)
    catalog = catalog_in(folder, params)
    SequentialRunner().run(render_pipeline(), catalog)
    outputs = SequentialRunner().run(encoder_pipeline(), catalog)
    return folder, params, catalog, catalog.load("encoder_metrics"), outputs["prior_metrics"].load()


def test_embeddings_are_unit_vectors_frontal_first_for_every_avatar(encoded):
    folder, params, catalog, _, _ = encoded
    embeddings = catalog.load("avatar_embeddings")
    avatars = sorted(p.name for p in (folder / "avatars").iterdir())
    assert sorted(embeddings) == avatars
    first = embeddings[avatars[0]]
    assert first.shape[0] == 1 + params["encoder"]["embeddings"]["extra_views"]
    assert torch.allclose(first.norm(dim=-1), torch.ones(first.shape[0]), atol=1e-5)


def test_near_frontal_embeddings_are_other_views_of_the_same_avatar(encoded):
    """Every avatar with a view near its face gets that view's embedding: unit, not the
    frontal one, and closer to its own frontal latent than the other avatars' are on average."""
    folder, params, catalog, _, _ = encoded
    frontal = catalog.load("avatar_embeddings")
    near = catalog.load("near_frontal_embeddings")
    assert near and set(near) <= set(frontal)
    own, others = [], []
    for avatar_id, views in near.items():
        assert views.ndim == 2 and views.shape[1] == frontal[avatar_id].shape[1]
        assert torch.allclose(views.norm(dim=-1), torch.ones(len(views)), atol=1e-5)
        assert not torch.allclose(views, frontal[avatar_id][:1].expand_as(views))
        own.append(float((views @ frontal[avatar_id][0]).mean()))
        others += [float((views @ frontal[i][0]).mean()) for i in frontal if i != avatar_id]
    assert sum(own) / len(own) > sum(others) / len(others)


def test_metrics_report_retrieval_and_zero_shot_with_their_chance_levels(encoded):
    metrics = encoded[3]
    # Two of the main set's and the CLIP-only set's held-out avatars.
    clip_set = load_parameters(CONF, "test")["render"]["clip_set"]
    assert metrics["heldout_avatars_clip_set"] == clip_set["avatars"] // clip_set["heldout_every"]
    assert metrics["heldout_avatars"] == 2 + metrics["heldout_avatars_clip_set"] > 2
    for name in ("hair_colour", "clothing_colour", "glasses", "hat"):
        assert 0.0 <= metrics[f"zero_shot_{name}"] <= 1.0
        assert 0.0 <= metrics[f"zero_shot_{name}_balanced"] <= 1.0
        assert 0.0 < metrics[f"zero_shot_{name}_chance"] < 1.0
    for accessory in ("glasses", "hat"):
        assert metrics[f"zero_shot_{accessory}_presence_balanced_chance"] == 0.5
    assert metrics["retrieval_chance"] == 1 / metrics["heldout_avatars"]


def test_the_stage_draws_its_accuracies_as_a_chart(encoded):
    folder, _, catalog, _, _ = encoded
    chart = np.asarray(catalog.load("encoder_clip_chart"))
    # One bar per retrieval direction, attribute and accessory presence: a tall, drawn picture.
    assert chart.ndim == 3 and chart.shape[2] == 3 and chart.shape[0] > 250
    assert chart.std() > 10 and (folder / "clip_quality.png").stat().st_size > 5_000


def test_a_rerun_resumes_from_the_finished_checkpoint_and_gives_the_same_weights(encoded):
    folder, params, catalog, _, _ = encoded
    weights = catalog.load("clip_weights")
    again = catalog_in(folder, params)
    SequentialRunner().run(encoder_pipeline().only_nodes("train_domain_clip"), again)
    for name, tensor in again.load("clip_weights").items():
        assert torch.equal(tensor, weights[name]), name


def test_the_prior_is_stored_and_samples_unit_embeddings_for_a_prompt(encoded):
    from rodin_pipelines.diffusion.embedding_prior_sampling import sample_embeddings
    from rodin_pipelines.diffusion.networks import load_prior

    folder, params, catalog, _, prior_metrics = encoded
    denoiser, statistics = load_prior(catalog.load("embedding_prior"), params["encoder"]["prior"])
    captions = catalog.load("caption_embeddings")
    first = sorted(captions)[0]
    samples = sample_embeddings(denoiser, statistics, 3, texts=captions[first][:1], steps=4)
    dim = catalog.load("avatar_embeddings")[first].shape[-1]
    assert samples.shape == (3, dim)
    assert torch.allclose(samples.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert prior_metrics["samples"] == params["encoder"]["prior"]["evaluation"]["samples"]
    for name in ("frechet_samples_vs_train", "frechet_side_view_gaussian_vs_train",
                 "caption_retrieval_top1", "prompt_hair_colour_accuracy"):
        assert prior_metrics[name] == prior_metrics[name], name  # finite, not NaN
