"""Nodes of the ``diffusion`` stage: unpack parameters, call the library, return values.

The training node is a template used twice, under the namespaces ``base`` and ``upsampler``;
``params:model`` is ``diffusion.base`` or ``diffusion.upsampler``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.datasets.avatar_folders import AvatarFolderReader
from rodin_pipelines.diffusion.cascade import (
    SamplingSettings,
    gaussian_baseline_triplanes,
    sample_triplanes,
)
from rodin_pipelines.diffusion.conditioning_augmentation import (
    ConditioningAugmentation,
    downsample_rolled_out,
)
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.embedding_prior_sampling import embedding_statistics
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings
from rodin_pipelines.evaluation.diffusion_gallery import (
    gallery_rows,
    latent_agreement,
    mean_psnr_against,
    render_triplanes,
    training_gallery,
)
from rodin_pipelines.instantiation import build_from_config
from rodin_pipelines.pipelines.encoder.nodes import loaded_clip
from rodin_pipelines.rendering.camera_rig import CameraRig, rig_frontal_camera
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.data_fingerprint import data_fingerprint
from rodin_pipelines.training.diffusion_module import DiffusionSystem, ema_weights
from rodin_pipelines.training.gallery_callback import SampleGallery
from rodin_pipelines.training.rendering_loss import TriplaneRenderingLoss
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet, TriplaneExample
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit
from rodin_pipelines.triplane.supervision import fit_target_from_views

Triplanes = dict[str, Any]


def is_upsampler(model: dict[str, Any]) -> bool:
    return bool(model.get("upsampler", False))


def model_resolution(model: dict[str, Any], diffusion: dict[str, Any],
                     fitted_resolution: int) -> int:
    """The upsampler generates the fitted tri-planes' resolution; the base model its own."""
    return fitted_resolution if is_upsampler(model) else diffusion["base_resolution"]


def network_config(model: dict[str, Any], diffusion: dict[str, Any], channels: int,
                   latent_dim: int, fitted_resolution: int) -> dict[str, Any]:
    """The network's ``_target_`` block with the sizes that come from the data."""
    return {**model["network"], "in_channels": channels * (2 if is_upsampler(model) else 1),
            "out_channels": channels,
            "resolution": model_resolution(model, diffusion, fitted_resolution),
            "latent_dim": latent_dim}


def data_sizes(examples: list[TriplaneExample]) -> dict[str, int]:
    """Channels C, latent size D and fitted resolution R of the training set."""
    planes = examples[0].planes
    return {"channels": planes.shape[1], "latent_dim": examples[0].latent.numel(),
            "fitted_resolution": planes.shape[-1]}


def collect_triplane_examples(triplanes: Triplanes, avatar_embeddings: dict[str, Tensor],
                              avatar_index: pd.DataFrame, avatars: dict[str, AvatarFolderReader],
                              diffusion: dict[str, Any]) -> list[TriplaneExample]:
    """Training avatars with a fitted tri-plane and an embedding (views only when a model has a
    rendering loss)."""
    train = avatar_index.loc[avatar_index["split"] == "train", "avatar_id"]
    chosen = [i for i in train if i in triplanes and i in avatar_embeddings]
    limit = diffusion.get("max_avatars")
    chosen = chosen[:limit] if limit else chosen
    needs_views = any(diffusion[m]["rendering_loss"]["patch_size"] > 0
                      for m in ("base", "upsampler"))
    if not chosen:
        raise ValueError("no training avatar has both a fitted tri-plane and a CLIP embedding; "
                         "run `kedro run --pipeline fit` and `--pipeline encoder` first")
    return [TriplaneExample(i, triplanes[i]()[0], avatar_embeddings[i][0],
                            fit_target_from_views(avatars[i]()) if needs_views else None)
            for i in chosen]


def build_system(model: dict[str, Any], diffusion: dict[str, Any], sizes: dict[str, int],
                 decoder: torch.nn.Module | None = None,
                 statistics: dict[str, Tensor] | None = None,
                 fingerprint: str = "",
                 latent_statistics: dict[str, Tensor] | None = None) -> DiffusionSystem:
    rendering = model["rendering_loss"]
    auxiliary = None
    if rendering["patch_size"] > 0 and rendering["weight"] > 0:
        auxiliary = TriplaneRenderingLoss(decoder, statistics,
                                          VolumeRenderSettings(**rendering["render"]))
    return DiffusionSystem(network_config(model, diffusion, **sizes),
                           **model["diffusion"], auxiliary_loss=auxiliary,
                           auxiliary_weight=rendering["weight"], data_fingerprint=fingerprint,
                           latent_statistics=latent_statistics)


def frontal_cameras(render: dict[str, Any], image_size: int) -> Cameras:
    """The render stage's canonical frontal camera, at ``image_size`` pixels."""
    rig = render["camera_rig"]
    return Cameras(rig_frontal_camera(CameraRig(**rig)), math.radians(rig["fov_x_degrees"]),
                   image_size, image_size)


def progress_gallery(dataset: TriplaneDiffusionSet, statistics: dict[str, Tensor],
                     decoder: torch.nn.Module, diffusion: dict[str, Any],
                     render: dict[str, Any], name: str) -> SampleGallery | None:
    """Every N steps: renders of samples for the first training avatars' latents (fixed seed),
    under their fitted tri-planes; the upsampler gets their clean low-resolution planes."""
    gallery = diffusion["gallery"]
    if not gallery["every_n_steps"]:
        return None
    chosen = range(min(gallery["training_avatars"], len(dataset)))
    latents = torch.stack([dataset.examples[i].latent.float() for i in chosen])
    truth = torch.stack([dataset.examples[i].planes.float() for i in chosen])
    shape = tuple(dataset.rolled[0].shape)
    low = None
    if dataset.low_resolution is not None:
        low = downsample_rolled_out(torch.stack([dataset.rolled[i] for i in chosen]),
                                    dataset.low_resolution)
    cameras = frontal_cameras(render, render["views"]["image_size"])
    settings = SamplingSettings(**diffusion["sampling"])
    render_settings = VolumeRenderSettings(**gallery["render"])

    def make(module: DiffusionSystem) -> np.ndarray:
        return training_gallery(module.ema_denoiser(), latents, statistics, decoder, cameras,
                                render_settings, shape, settings, low, truth, gallery["seed"])

    return SampleGallery(make, gallery["every_n_steps"],
                         f"{gallery['progress_folder']}/{name}", f"{name}_progress")


def train_diffusion_model(examples: list[TriplaneExample], plane_statistics: dict[str, Tensor],
                          shared_decoder: SharedDecoderFit, model: dict[str, Any],
                          diffusion: dict[str, Any], render: dict[str, Any]) -> dict[str, Tensor]:
    """Train one model (base or upsampler) resumably; returns its EMA weights."""
    sizes = data_sizes(examples)
    resolution = model_resolution(model, diffusion, sizes["fitted_resolution"])
    augmentation = ConditioningAugmentation(**(model.get("augmentation") or {}))
    dataset = TriplaneDiffusionSet(
        examples, plane_statistics, resolution,
        low_resolution=diffusion["base_resolution"] if is_upsampler(model) else None,
        augmentation=augmentation, patch_size=model["rendering_loss"]["patch_size"])
    torch.manual_seed(diffusion["seed"])
    fingerprint = data_fingerprint([*(e.avatar_id for e in examples),
                                    *(e.planes for e in examples), *(e.latent for e in examples),
                                    plane_statistics["mean"], plane_statistics["std"]])
    latents = torch.stack([e.latent.float() for e in examples])
    system = build_system(model, diffusion, sizes, shared_decoder.decoder, plane_statistics,
                          fingerprint, embedding_statistics(latents))
    settings = TrainerSettings(**model["trainer"], seed=diffusion["seed"])
    loader = step_loader(dataset, model["batch_size"], settings.max_steps)
    name = "upsampler" if is_upsampler(model) else "base"
    gallery = progress_gallery(dataset, plane_statistics, shared_decoder.decoder, diffusion,
                               render, name)
    trainer = build_trainer(settings, callbacks=[gallery] if gallery else [], log_prefix=name)
    fit_resumably(trainer, system, settings, train_dataloaders=loader)
    return ema_weights(system)


def load_denoiser(weights: dict[str, Tensor], model: dict[str, Any], diffusion: dict[str, Any],
                  sizes: dict[str, int]) -> Denoiser:
    """A trained model's EMA denoiser, rebuilt from config and its stored weights."""
    network = build_from_config(network_config(model, diffusion, **sizes))
    network.load_state_dict(weights)
    network.eval()
    schedule = NoiseSchedule(ScheduleSettings(**model["diffusion"]["schedule"]))
    return Denoiser(network, schedule, model["diffusion"]["parameterisation"])


def sample_gallery(base_weights: dict[str, Tensor], upsampler_weights: dict[str, Tensor],
                   examples: list[TriplaneExample], plane_statistics: dict[str, Tensor],
                   shared_decoder: SharedDecoderFit, avatars: dict[str, AvatarFolderReader],
                   avatar_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                   clip_weights: dict[str, Tensor], encoder: dict[str, Any],
                   diffusion: dict[str, Any]) -> tuple[np.ndarray, dict[str, float]]:
    """Frontal renders of held-out avatars (fitted tri-planes), cascade samples conditioned on
    their latents, unconditional samples, and the per-texel Gaussian baseline; with PSNRs and
    how closely each row's CLIP image embedding matches the conditioning latent."""
    gallery = diffusion["gallery"]
    heldout = [i for i in avatar_index.loc[avatar_index["split"] == "heldout", "avatar_id"]
               if i in avatar_embeddings][: gallery["avatars"]]
    sizes = data_sizes(examples)
    base = load_denoiser(base_weights, diffusion["base"], diffusion, sizes)
    upsampler = load_denoiser(upsampler_weights, diffusion["upsampler"], diffusion, sizes)
    settings = SamplingSettings(**diffusion["sampling"])
    latents = torch.stack([avatar_embeddings[i][0] for i in heldout])
    count = len(heldout)
    shape = dict(count=count, channels=sizes["channels"],
                 base_resolution=diffusion["base_resolution"],
                 resolution=sizes["fitted_resolution"], statistics=plane_statistics,
                 settings=settings, seed=gallery["seed"])
    conditional = sample_triplanes(base, upsampler, latents, **shape)
    unconditional = sample_triplanes(base, upsampler, None, **shape)
    rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(e.planes, plane_statistics)
                          for e in examples])
    baseline = gaussian_baseline_triplanes(rolled, count, plane_statistics, gallery["seed"])
    heldout_views = [avatars[i]() for i in heldout]
    first = heldout_views[0]
    cameras = first.cameras()[torch.tensor([first.frontal_index()])]
    render = VolumeRenderSettings(**gallery["render"])
    decoder = shared_decoder.decoder

    def frontal_renders(planes: Tensor) -> Tensor:
        return render_triplanes(planes, decoder, cameras, render)[:, 0]

    truth_images = torch.stack([a.images[a.frontal_index()] for a in heldout_views])
    rows = {"truth": truth_images,
            "conditional": frontal_renders(conditional),
            "unconditional": frontal_renders(unconditional),
            "gaussian baseline": frontal_renders(baseline)}
    metrics = {
        "psnr_conditional_vs_truth": mean_psnr_against(rows["conditional"], truth_images),
        "psnr_unconditional_vs_truth": mean_psnr_against(rows["unconditional"], truth_images),
        "psnr_gaussian_baseline_vs_truth": mean_psnr_against(rows["gaussian baseline"],
                                                             truth_images),
        **latent_agreement(loaded_clip(clip_weights, encoder), rows, latents),
        "gallery_avatars": float(count),
        "base_steps": float(settings.base_steps),
        "upsampler_steps": float(settings.upsampler_steps),
        "guidance_scale": float(settings.guidance_scale),
    }
    return gallery_rows(rows, scale=gallery["scale"]), metrics
