"""The diffusion and evaluate stages end to end on the test profile (render → fit → encoder →
diffusion → evaluate)."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset

from rodin_pipelines.settings import load_parameters
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.generation.plane_refinement import RefinementSettings
from rodin_pipelines.generation.portrait_refinement import refine_towards_portrait
from rodin_pipelines.generation.text_guided_refinement import refine_towards_text
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views
from rodin_pipelines.datasets.attribute_network_files import AttributeNetworkDataset
from rodin_pipelines.datasets.metrics_files import MetricsJsonDataset
from rodin_pipelines.datasets.report_folders import ReportFolderDataset
from rodin_pipelines.evaluation.cascade_checks import cascade_fidelity, train_cascade
from rodin_pipelines.evaluation.evaluation_set import guidance_name
from rodin_pipelines.training.diffusion_training import collect_triplane_examples
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.generation.sources import portrait_image
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.rendering.camera_rig import CameraRig, rig_frontal_camera
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.datasets.fit_files import (
    PlaneStatisticsDataset,
    SharedDecoderDataset,
    TensorFileDataset,
    TriplaneFolderDataset,
)
from rodin_pipelines.datasets.generated_files import FILES, GeneratedAvatarsDataset
from rodin_pipelines.datasets.image_files import PngDataset
from rodin_pipelines.datasets.mesh_files import MeshFolderDataset
from rodin_pipelines.pipelines.ablations import create_pipeline as ablations_pipeline
from rodin_pipelines.pipelines.diffusion import create_pipeline as diffusion_pipeline
from rodin_pipelines.pipelines.encoder import create_pipeline as encoder_pipeline
from rodin_pipelines.pipelines.evaluate import create_pipeline as evaluate_pipeline
from rodin_pipelines.pipelines.generate import create_pipeline as generate_pipeline
from rodin_pipelines.pipelines.fit import create_pipeline as fit_pipeline
from rodin_pipelines.pipelines.render import create_pipeline as render_pipeline

CONF = Path(__file__).resolve().parents[2] / "conf"

MEMORISE_TWO = {"max_avatars": 2, "sampling": {"sampler": "ddim", "base_steps": 25,
                                                "upsampler_steps": 10, "guidance_scale": 1.0}}
"""The memorisation check's cascade: two avatars, sampled conditionally with enough steps that
the sampler is not what limits the fidelity."""


STRUCTURAL_TRAINING = {"max_steps": 6, "checkpoint_every_n_steps": 3, "log_every_n_steps": 1}
"""This module checks the stages' structure (files, resume, galleries, metrics present), not the
models' quality: 6 steps with a checkpoint and a progress gallery every 3, instead of the test
profile's 300 + 100 steps that give the demo page a surface to show."""


def profile_parameters(folder: Path) -> dict:
    params = load_parameters(CONF, "test")
    params["diffusion"]["gallery"]["every_n_steps"] = 3
    for model in ("base", "upsampler"):
        params["diffusion"][model]["trainer"].update(STRUCTURAL_TRAINING)
    params["encoder"]["training"]["trainer"]["checkpoint_dir"] = str(folder / "clip_ckpt")
    params["encoder"]["prior"]["trainer"]["checkpoint_dir"] = str(folder / "prior_ckpt")
    for model in ("base", "upsampler"):
        params["diffusion"][model]["trainer"]["checkpoint_dir"] = str(folder / f"{model}_ckpt")
    params["diffusion"]["gallery"]["progress_folder"] = str(folder / "progress")
    params["ablations"]["progress_folder"] = str(folder / "ablations_progress")
    for model in ("base", "upsampler"):
        params["ablations"]["no_aware_conv"][model]["trainer"]["checkpoint_dir"] = str(
            folder / f"no_aware_{model}_ckpt")
    return params


def catalog_in(folder: Path, params: dict) -> DataCatalog:
    files = {name: TensorFileDataset(str(folder / f"{name}.safetensors")) for name in (
        "clip_weights", "avatar_embeddings", "caption_embeddings", "near_frontal_embeddings",
        "embedding_prior", "base_model_weights", "upsampler_model_weights",
        "no_aware_conv_base_model_weights", "no_aware_conv_upsampler_model_weights")}
    datasets = {
        **files,
        "plane_statistics": PlaneStatisticsDataset(str(folder / "plane_statistics.safetensors")),
        "avatars": AvatarFolderDataset(str(folder / "avatars"), progress=False),
        "avatar_index": CSVDataset(filepath=str(folder / "index.csv"), save_args={"index": False}),
        "clip_avatars": AvatarFolderDataset(str(folder / "clip_avatars"), progress=False),
        "clip_avatar_index": CSVDataset(filepath=str(folder / "clip_index.csv"),
                                        save_args={"index": False}),
        "shared_decoder": SharedDecoderDataset(str(folder / "decoder")),
        "triplanes": TriplaneFolderDataset(str(folder / "triplanes"), progress=False),
        "fit_meshes": MeshFolderDataset(str(folder / "meshes"), artifact_path=None),
        "diffusion_gallery": PngDataset(str(folder / "gallery.png")),
        "evaluate_gallery": PngDataset(str(folder / "evaluate_gallery.png")),
        "memorisation_grid": PngDataset(str(folder / "memorisation.png")),
        "evaluate_scores_chart": PngDataset(str(folder / "evaluate_scores.png")),
        "evaluate_samples": GeneratedAvatarsDataset(str(folder / "evaluate_samples"),
                                                    artifact_path=None),
        "generated_avatars": GeneratedAvatarsDataset(str(folder / "generated"),
                                                     artifact_path=None),
        "generation_metrics": MetricsJsonDataset(str(folder / "generation.json")),
        "generation_report": ReportFolderDataset(str(folder / "generation")),
        "attribute_judge": AttributeNetworkDataset(str(folder / "attribute_network")),
    }
    for name in ("render", "fit", "encoder", "diffusion", "evaluate", "generate", "ablations"):
        datasets[f"params:{name}"] = MemoryDataset(params[name])
        for key, sub in params[name].items():
            datasets[f"params:{name}.{key}"] = MemoryDataset(sub)
            for subkey, value in (sub.items() if isinstance(sub, dict) else ()):
                datasets[f"params:{name}.{key}.{subkey}"] = MemoryDataset(value)
    return DataCatalog(datasets)


@pytest.fixture(scope="module")
def diffused(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diffusion")
    params = profile_parameters(folder)
    catalog = catalog_in(folder, params)
    for stage in (render_pipeline, fit_pipeline, encoder_pipeline):
        SequentialRunner().run(stage(), catalog)
    outputs = SequentialRunner().run(diffusion_pipeline(), catalog)
    evaluated = SequentialRunner().run(evaluate_pipeline(), catalog)
    return (folder, params, catalog, outputs["diffusion_metrics"].load(),
            evaluated["evaluate_metrics"].load())


def test_both_models_are_stored_and_the_gallery_has_four_rows(diffused):
    folder, params, catalog, metrics, _ = diffused
    for name in ("base_model_weights", "upsampler_model_weights"):
        weights = catalog.load(name)
        assert weights and all(torch.isfinite(w).all() for w in weights.values()), name
    gallery = np.asarray(catalog.load("diffusion_gallery"))
    size = params["render"]["views"]["image_size"] * params["diffusion"]["gallery"]["scale"]
    avatars = params["diffusion"]["gallery"]["avatars"]
    assert gallery.shape[0] == 4 * (size + 4) and gallery.shape[1] == avatars * (size + 4)
    for key in ("psnr_conditional_vs_truth", "psnr_gaussian_baseline_vs_truth"):
        assert np.isfinite(metrics[key]), key
    assert metrics["base_steps"] == params["diffusion"]["sampling"]["base_steps"]
    every = params["diffusion"]["gallery"]["every_n_steps"]
    for model in ("base", "upsampler"):
        steps = params["diffusion"][model]["trainer"]["max_steps"]
        pictures = sorted(p.name for p in (folder / "progress" / model).glob("*.png"))
        assert pictures == [f"step-{s:07d}.png" for s in range(every, steps + 1, every)]


def test_the_generation_benchmark_scores_every_condition_and_writes_its_files(diffused):
    folder, params, catalog, _, _ = diffused
    metrics = catalog.load("generation_metrics")
    heldout = int(metrics["heldout_avatars"])
    assert heldout == 2  # the test profile's held-out avatars
    for section in ("conditional", "portrait"):
        for name in ("clothing_colour", "hair_colour", "hat", "glasses"):
            assert 0.0 <= metrics[f"{section}_{name}"] <= 1.0, (section, name)
    assert metrics["text_prompts"] == params["evaluate"]["generation"]["text_prompts"]
    assert 0 <= metrics["edit_red_hair"] <= metrics["edit_avatars"] >= 1
    assert 0.0 <= metrics["floaters_opacity_outside_training_silhouettes"] <= 1.0
    for scorer in ("attribute", "clip"):
        assert metrics[f"fid_{scorer}_fitted_heldout"] < metrics[f"fid_{scorer}_gaussian"]
        assert metrics[f"fid_{scorer}_fitted_train_over_gaussian"] == pytest.approx(
            metrics[f"fid_{scorer}_fitted_train"] / metrics[f"fid_{scorer}_gaussian"])
    files = catalog.load("generation_report")
    size = params["render"]["views"]["image_size"]
    conditional = sorted(n for n in files if n.startswith("conditional/"))
    assert len(conditional) == 2 * heldout
    for name in conditional:
        picture = np.asarray(Image.open(files[name]))
        assert picture.shape == (size, size, 4), name
    prompts = json.loads(files["text/prompts.json"].read_text())
    assert sorted(prompts) == [f"{i:02d}.png" for i in range(len(prompts))]
    assert all(p["names"] and p["prompt"] for p in prompts.values())
    real = np.load(files["features/real.clip.npy"])
    ours = np.load(files["features/ours.clip.npy"])
    assert real.shape[1] == ours.shape[1] and len(ours) > len(real) / 2
    # the FID in the metrics is recomputable from the saved features alone
    recomputed = frechet_distance(torch.from_numpy(real), torch.from_numpy(ours))
    assert abs(recomputed - metrics["fid_clip_ours"]) < 1e-6 * max(1.0, recomputed)


def test_a_rerun_resumes_the_finished_training_and_returns_the_same_weights(diffused):
    folder, params, catalog, _, _ = diffused
    before = catalog.load("upsampler_model_weights")
    again = catalog_in(folder, params)
    SequentialRunner().run(
        diffusion_pipeline().only_nodes("collect_triplane_examples",
                                        "upsampler.train_diffusion_model"), again)
    after = again.load("upsampler_model_weights")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_evaluate_reports_fid_and_kid_for_ours_and_both_baselines_with_their_settings(diffused):
    folder, params, catalog, _, metrics = diffused
    evaluate = params["evaluate"]
    ablations = [guidance_name(s) for s in evaluate["ablations"]["guidance_scales"]]
    assert ablations == ["guidance_1_5"]
    for name in ("ours", "fitted_heldout", "fitted_train", "gaussian", *ablations):
        assert np.isfinite(metrics[f"fid_clip_{name}"]) and metrics[f"fid_clip_{name}"] >= -1e-6
        assert np.isfinite(metrics[f"kid_clip_{name}"])
    assert metrics["samples"] == evaluate["samples"] and metrics["seed"] == evaluate["seed"]
    assert metrics["nfe_base"] == params["diffusion"]["sampling"]["base_steps"]
    assert metrics["real_images"] == 2 * evaluate["views_per_avatar"]  # 2 held-out avatars
    assert 0.0 <= metrics["memorisation_nearest_distance_min"] <= 2.0
    chart = np.asarray(catalog.load("evaluate_scores_chart"))
    assert chart.ndim == 3 and chart.shape[1] > chart.shape[0] and chart.std() > 10
    showcase = catalog.load("evaluate_samples")
    assert showcase == [f"sample-{i:02d}" for i in range(evaluate["showcase"]["samples"])]
    for name in showcase:
        assert all((folder / "evaluate_samples" / name / f).stat().st_size > 0
                   for f in FILES if f != "mesh.glb")
    grid = np.asarray(catalog.load("memorisation_grid"))
    size = params["render"]["views"]["image_size"]
    assert grid.shape[:2] == (evaluate["memorisation_rows"] * (size + 4), 2 * (size + 4))


def test_the_ablation_retrains_without_3d_aware_convolution_and_scores_both(diffused):
    folder, params, catalog, _, _ = diffused
    outputs = SequentialRunner().run(ablations_pipeline(), catalog)
    metrics = outputs["ablation_metrics"].load()
    for name in ("ours", "no_aware_conv"):
        assert np.isfinite(metrics[f"fid_clip_{name}"]) and np.isfinite(metrics[f"kid_clip_{name}"])
    assert metrics["samples"] == params["evaluate"]["samples"]
    ours = catalog.load("base_model_weights")
    ablated = catalog.load("no_aware_conv_base_model_weights")
    # The 3D-aware convolutions' cross-plane inputs widen ours' first-level convolutions.
    assert set(ablated) != set(ours) or any(ablated[k].shape != ours[k].shape for k in ours)


@pytest.mark.parametrize("mode, changes, names", [
    ("unconditional", {}, ["uncond-00"]),
    ("text", {"prompt": "a smiling woman with red hair"}, ["text-00"]),
    ("portrait", {"portrait": "astronaut"}, ["portrait-00"]),
    ("edit", {"edit": {"source": "portrait", "source_text": "a person",
                       "edit_text": "a person with red hair", "strength": 1.0}},
     ["edit-edited-00", "edit-unedited-00"]),
])
def test_each_generate_mode_writes_its_files(diffused, mode, changes, names):
    folder, params, catalog, _, _ = diffused
    name = names[0].split("-")[0]
    if "edit" in changes:  # the test profile's refinement settings stay
        changes = {"edit": {**params["generate"]["edit"], **changes["edit"]}}
    catalog["params:generate"] = MemoryDataset({**params["generate"], **changes, "mode": mode,
                                                "name": name})
    SequentialRunner().run(generate_pipeline(), catalog)
    written = [n for n in catalog.load("generated_avatars") if n.startswith(name + "-")]
    assert written == names
    for result in written:
        assert all((folder / "generated" / result / f).stat().st_size > 0 for f in FILES)
        description = json.loads((folder / "generated" / result / "description.json").read_text())
        assert description["mode"] == mode
        # Six training steps may sample an empty field: then the description says so.
        assert (folder / "generated" / result / "mesh.glb").is_file() or "mesh" in description
    if mode == "edit":  # both record how well their frontal view matches the edit text
        for result in written:
            description = json.loads((folder / "generated" / result / "description.json")
                                     .read_text())
            assert -1.0 <= description["edit_text_cosine"] <= 1.0


def test_portrait_refinement_brings_the_frontal_render_towards_the_portrait(diffused):
    folder, params, catalog, _, _ = diffused
    decoder = catalog.load("shared_decoder").decoder
    triplanes = catalog.load("triplanes")
    planes = torch.stack([triplanes[i]()[0] for i in sorted(triplanes)[:1]])
    render, generate = params["render"], params["generate"]
    rig = CameraRig(**render["camera_rig"])
    size = render["views"]["image_size"]
    front = Cameras(rig_frontal_camera(rig), rig.fov_x, size, size)
    portrait = portrait_image("astronaut", size)
    settings = VolumeRenderSettings(**generate["render"])
    torch.manual_seed(0)
    refined = refine_towards_portrait(planes, decoder, front, portrait, settings,
                                      catalog.load("plane_statistics").std,
                                      RefinementSettings(steps=30, learning_rate=0.1, anchor_weight=0.01,
                                                         offset_resolution=8))

    def colour_error(p):  # an opaque photo: colours inside the render's silhouette
        rendered = render_triplanes(p, decoder, front, settings)[0, 0]
        alpha = rendered[..., 3:]
        return float((alpha * (rendered[..., :3] - portrait[..., :3])).pow(2).mean())

    assert colour_error(refined) < 0.8 * colour_error(planes)
    silhouette = [render_triplanes(p, decoder, front, settings)[0, 0, ..., 3] for p in
                  (planes, refined)]
    assert (silhouette[0] - silhouette[1]).abs().mean() < 0.1  # the shape stays the sample's


def test_text_guided_refinement_raises_the_red_hair_clip_score(diffused):
    """On fitted tri-planes (the test profile's 6-step diffusion samples are nearly empty), the
    edit stage's refinement moves the frontal render towards "with red hair" in CLIP space."""
    folder, params, catalog, _, _ = diffused
    clip = load_trained_clip(catalog.load("clip_weights"),
                             params["encoder"]["clip"]["architecture"])
    decoder = catalog.load("shared_decoder").decoder
    triplanes = catalog.load("triplanes")
    planes = torch.stack([triplanes[i]()[0] for i in sorted(triplanes)[:2]])
    generate, render = params["generate"], params["render"]
    rig = CameraRig(**render["camera_rig"])
    settings = VolumeRenderSettings(**generate["render"])
    source, target = "a person", "a person with red hair"
    torch.manual_seed(0)  # ray jitter
    refined = refine_towards_text(planes, decoder, clip, rig, settings, source, target,
                                  catalog.load("plane_statistics").std,
                                  RefinementSettings(**generate["edit"]["refine"]))
    front = Cameras(rig_frontal_camera(rig), rig.fov_x, 32, 32)
    text = embed_texts(clip, [target])[0]

    def score(p):
        return embed_views(clip, render_triplanes(p, decoder, front, settings)[:, 0]) @ text

    before, after = score(planes), score(refined)
    assert (after > before).all() and (after - before).mean() > 0.05, (before, after)
    change = (refined - planes).abs().mean() / planes.abs().mean()
    assert change < 0.5, change  # an edit, not a new avatar


def test_generate_errors_name_the_problem(diffused, tmp_path):
    folder, params, catalog, _, _ = diffused
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    for changes, message in [({"mode": "text", "prompt": " "}, "needs a prompt"),
                             ({"mode": "portrait", "portrait": str(broken)}, "broken.png"),
                             ({"mode": "sketch"}, "generate.mode must be one of")]:
        catalog["params:generate"] = MemoryDataset({**params["generate"], **changes})
        with pytest.raises(Exception, match=message):
            SequentialRunner().run(generate_pipeline(), catalog)


def test_the_cascade_memorises_two_training_avatars(diffused, tmp_path):
    """The fast version of the memorise-8 benchmark (``benchmarks/generation/cascade_checks.py
    memorise``): trained on two avatars only, each conditional sample must be its own avatar's,
    and the upsampler must add detail to the true low-resolution planes. A bug in the
    conditioning path, the normalisation or the upsampler's input shows up as own ≈ other or
    upsampler ≤ bilinear."""
    folder, params, catalog, _, _ = diffused
    diffusion = copy.deepcopy(params["diffusion"])
    diffusion.update(MEMORISE_TWO)
    for name, steps in (("base", 400), ("upsampler", 600)):
        diffusion[name]["trainer"].update(max_steps=steps, checkpoint_every_n_steps=steps)
    diffusion["base"]["batch_size"] = 8
    examples = collect_triplane_examples(catalog.load("triplanes"),
                                         catalog.load("avatar_embeddings"),
                                         catalog.load("avatar_index"), catalog.load("avatars"),
                                         diffusion)
    statistics, decoder = catalog.load("plane_statistics"), catalog.load("shared_decoder")
    cascade = train_cascade(examples, statistics, decoder, diffusion, params["render"], tmp_path)
    result = cascade_fidelity([e.planes for e in examples],
                              torch.stack([e.latent.float() for e in examples]), cascade,
                              statistics, decoder, params["render"], seed=3)
    assert result["avatars"] == 2
    assert result["base_own_top1_mse"] == 1.0 and result["cascade_own_top1_mse"] == 1.0
    assert result["cascade_frontal_psnr_mean"] > result["cascade_frontal_psnr_vs_other_mean"] + 1.0
    assert (result["upsampler_alone_frontal_psnr_mean"]
            > result["truth_low_bilinear_frontal_psnr_mean"] + 2.0)
