"""Training one model of the cascade (base or upsampler): its training set, its Lightning
system, a progress gallery, and the resumable fit.

``model`` is the ``diffusion.base`` or ``diffusion.upsampler`` parameter block and ``diffusion``
the whole ``diffusion`` block; the diffusion stage and the ablations train through here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.diffusion.conditioning_augmentation import (
    ConditioningAugmentation,
    downsample_rolled_out,
)
from rodin_pipelines.diffusion.networks import network_class, network_config
from rodin_pipelines.rendering.camera_rig import CameraRig, rig_frontal_camera
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.diffusion.embedding_prior_sampling import embedding_statistics
from rodin_pipelines.fingerprints import data_fingerprint
from rodin_pipelines.training.diffusion_module import DiffusionSystem, ema_weights
from rodin_pipelines.training.fit_targets import fit_target_from_views
from rodin_pipelines.training.gallery_callback import SampleGallery
from rodin_pipelines.training.progress_gallery import training_gallery
from rodin_pipelines.training.rendering_loss import TriplaneRenderingLoss
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet, TriplaneExample
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit

Triplanes = dict[str, Any]  # avatar id -> lazy reader of (planes (3, C, R, R), metadata)


def data_sizes(examples: list[TriplaneExample]) -> dict[str, int]:
    """Channels C, latent size D and fitted resolution R of the training set."""
    planes = examples[0].planes
    return {"channels": planes.shape[1], "latent_dim": examples[0].latent.numel(),
            "fitted_resolution": planes.shape[-1]}


def collect_triplane_examples(triplanes: Triplanes, avatar_embeddings: dict[str, Tensor],
                              avatar_index: pd.DataFrame, avatars: dict[str, AvatarFolderReader],
                              diffusion: dict[str, Any],
                              near_frontal_embeddings: dict[str, Tensor] | None = None,
                              ) -> list[TriplaneExample]:
    """Training avatars with a fitted tri-plane and an embedding (views only when a model has a
    rendering loss; near-frontal view embeddings ``(K, D)`` where given)."""
    train = avatar_index.loc[avatar_index["split"] == "train", "avatar_id"]
    chosen = [i for i in train if i in triplanes and i in avatar_embeddings]
    limit = diffusion.get("max_avatars")
    chosen = chosen[:limit] if limit else chosen
    needs_views = any(diffusion[m]["rendering_loss"]["patch_size"] > 0
                      for m in ("base", "upsampler"))
    if not chosen:
        raise ValueError("no training avatar has both a fitted tri-plane and a CLIP embedding; "
                         "run `kedro run --pipeline fit` and `--pipeline encoder` first")
    near = near_frontal_embeddings or {}
    return [TriplaneExample(i, triplanes[i]()[0], avatar_embeddings[i][0],
                            fit_target_from_views(avatars[i]()) if needs_views else None,
                            near.get(i))
            for i in chosen]


def build_system(model: dict[str, Any], diffusion: dict[str, Any], sizes: dict[str, int],
                 decoder: torch.nn.Module | None = None,
                 statistics: PlaneStatistics | None = None,
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


def progress_gallery(dataset: TriplaneDiffusionSet, statistics: PlaneStatistics,
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


def train_diffusion_model(examples: list[TriplaneExample], plane_statistics: PlaneStatistics,
                          shared_decoder: SharedDecoderFit, model: dict[str, Any],
                          diffusion: dict[str, Any], render: dict[str, Any]) -> dict[str, Tensor]:
    """Train one model (base or upsampler) resumably; returns its EMA weights."""
    sizes = data_sizes(examples)
    network = network_config(model, diffusion, **sizes)
    augmentation = ConditioningAugmentation(**(model.get("augmentation") or {}))
    dataset = TriplaneDiffusionSet(
        examples, plane_statistics, network["resolution"],
        low_resolution=network.get("low_resolution"),  # only an upsampler has one
        augmentation=augmentation, patch_size=model["rendering_loss"]["patch_size"],
        view_latent_probability=model.get("view_latent_probability", 0.0))
    torch.manual_seed(diffusion["seed"])
    fingerprint = data_fingerprint([*(e.avatar_id for e in examples),
                                    *(e.planes for e in examples), *(e.latent for e in examples),
                                    plane_statistics.mean, plane_statistics.std])
    latents = torch.stack([e.latent.float() for e in examples])
    system = build_system(model, diffusion, sizes, shared_decoder.decoder, plane_statistics,
                          fingerprint, embedding_statistics(latents))
    settings = TrainerSettings(**model["trainer"], seed=diffusion["seed"])
    loader = step_loader(dataset, model["batch_size"], settings.max_steps)
    name = network_class(model).cascade_role
    gallery = progress_gallery(dataset, plane_statistics, shared_decoder.decoder, diffusion,
                               render, name)
    trainer = build_trainer(settings, callbacks=[gallery] if gallery else [], log_prefix=name)
    fit_resumably(trainer, system, settings, train_dataloaders=loader)
    return ema_weights(system)
