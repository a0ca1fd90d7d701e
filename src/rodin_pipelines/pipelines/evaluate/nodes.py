"""Nodes of the ``evaluate`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from rodin_pipelines.diffusion.embedding_prior_sampling import sample_embeddings
from rodin_pipelines.evaluation.diffusion_gallery import gallery_rows
from rodin_pipelines.evaluation.figures import score_chart
from rodin_pipelines.evaluation.generative_metrics import fid_kid, rgba_to_rgb_batch
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.evaluation.memorisation import memorisation_grid, nearest_training_neighbours
from rodin_pipelines.evaluation.sample_renders import real_and_cameras, render_like_heldout
from rodin_pipelines.generation.outputs import GeneratedAvatar, realise
from rodin_pipelines.models.clip_embeddings import embed_views
from rodin_pipelines.pipelines.diffusion.nodes import load_denoiser
from rodin_pipelines.pipelines.encoder.nodes import loaded_clip
from rodin_pipelines.pipelines.encoder.prior_nodes import load_prior
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.turntable import azimuth_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit

Triplanes = dict[str, Any]


def _ids(avatar_index: pd.DataFrame, split: str, available: Any) -> list[str]:
    return [i for i in avatar_index.loc[avatar_index["split"] == split, "avatar_id"]
            if i in available]


@dataclass
class EvaluationSet:
    """What every evaluated model is compared on: the held-out renders and their cameras, the
    prior's latents for the samples, and the data sizes."""

    real: Tensor
    cameras: list
    latents: Tensor
    fitted: dict[str, Tensor]
    sizes: dict[str, int]


def evaluation_set(embedding_prior: dict[str, Tensor], triplanes: Triplanes,
                   avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                   encoder: dict[str, Any], settings: SamplingSettings,
                   evaluate: dict[str, Any]) -> EvaluationSet:
    torch.manual_seed(evaluate["seed"])
    heldout_ids = _ids(avatar_index, "heldout", triplanes)
    real, cameras = real_and_cameras([avatars[i]() for i in heldout_ids],
                                     evaluate["views_per_avatar"])
    prior, statistics = load_prior(embedding_prior, encoder)
    latents = sample_embeddings(prior, statistics, evaluate["samples"], sampler=settings.sampler,
                                steps=encoder["prior"]["sampling"]["steps"], seed=evaluate["seed"])
    fitted = {i: triplanes[i]()[0] for i in heldout_ids}
    first = next(iter(fitted.values()))
    sizes = {"channels": first.shape[1], "latent_dim": latents.shape[1],
             "fitted_resolution": first.shape[-1]}
    return EvaluationSet(real, cameras, latents, fitted, sizes)


def cascade_samples(base_weights: dict[str, Tensor], upsampler_weights: dict[str, Tensor],
                    plane_statistics: dict[str, Tensor], diffusion: dict[str, Any],
                    chosen: EvaluationSet, settings: SamplingSettings, seed: int) -> Tensor:
    """Tri-planes ``(N, 3, C, R, R)`` of the cascade for the evaluation latents."""
    base = load_denoiser(base_weights, diffusion["base"], diffusion, chosen.sizes)
    upsampler = load_denoiser(upsampler_weights, diffusion["upsampler"], diffusion, chosen.sizes)
    return sample_triplanes(base, upsampler, chosen.latents, len(chosen.latents),
                            chosen.sizes["channels"], diffusion["base_resolution"],
                            chosen.sizes["fitted_resolution"], plane_statistics, settings,
                            seed=seed)


def scores_against_real(real: Tensor, renders: dict[str, Tensor], features: ClipImageFeatures,
                        evaluate: dict[str, Any]) -> dict[str, float]:
    """``fid_clip_<name>`` and ``kid_clip_<name>`` of each render set ``(M, H, W, 4)``."""
    subset = min(evaluate["kid_subset_size"], len(real), *(len(r) for r in renders.values()))
    real_rgb = rgba_to_rgb_batch(real)
    metrics = {}
    for name, images in renders.items():
        scores = fid_kid(real_rgb, rgba_to_rgb_batch(images), features, subset,
                         seed=evaluate["seed"])
        metrics[f"fid_clip_{name}"] = float(scores["fid"])
        metrics[f"kid_clip_{name}"] = float(scores["kid_mean"])
    return metrics


def guidance_name(scale: float) -> str:
    """``guidance_1_5`` for 1.5: a metric-key-friendly name of an ablation's guidance scale."""
    return "guidance_" + f"{scale:g}".replace(".", "_")


def evaluate_generation(embedding_prior: dict[str, Tensor], base_model_weights: dict[str, Tensor],
                        upsampler_model_weights: dict[str, Tensor],
                        plane_statistics: dict[str, Tensor], shared_decoder: SharedDecoderFit,
                        triplanes: Triplanes, avatars: dict[str, AvatarFolderReader],
                        avatar_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                        clip_weights: dict[str, Tensor], encoder: dict[str, Any],
                        diffusion: dict[str, Any], render: dict[str, Any],
                        evaluate: dict[str, Any]
                        ) -> tuple[dict[str, float], np.ndarray, np.ndarray,
                                   dict[str, GeneratedAvatar], np.ndarray, dict[str, Any]]:
    """Unconditional samples (prior → cascade) vs held-out renders; baselines and the guidance
    ablation beside them; a few samples as renders, turntables and meshes; the renders
    (``real``, ``ours``, ``gaussian``, ``fitted_heldout``) and showcase meshes for the generation
    benchmark."""
    settings = SamplingSettings(**{**diffusion["sampling"], **evaluate["sampling"]})
    chosen = evaluation_set(embedding_prior, triplanes, avatars, avatar_index, encoder, settings,
                            evaluate)
    train_ids = _ids(avatar_index, "train", avatar_embeddings)
    count, views = evaluate["samples"], evaluate["views_per_avatar"]
    generated = cascade_samples(base_model_weights, upsampler_model_weights, plane_statistics,
                                diffusion, chosen, settings, evaluate["seed"])
    training_rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(
        triplanes[i]()[0], plane_statistics) for i in _ids(avatar_index, "train", triplanes)])
    gaussian = gaussian_baseline_triplanes(training_rolled, count, plane_statistics,
                                           evaluate["seed"])
    render_settings = VolumeRenderSettings(**evaluate["render"])
    decoder = shared_decoder.decoder
    renders = {
        "ours": render_like_heldout(generated, decoder, chosen.cameras, render_settings),
        "fitted_heldout": render_like_heldout(torch.stack(list(chosen.fitted.values())),
                                              decoder, chosen.cameras, render_settings),
        "gaussian": render_like_heldout(gaussian, decoder, chosen.cameras, render_settings),
    }
    for scale in evaluate["ablations"]["guidance_scales"]:
        guided = cascade_samples(base_model_weights, upsampler_model_weights, plane_statistics,
                                 diffusion, chosen, replace(settings, guidance_scale=scale),
                                 evaluate["seed"])
        renders[guidance_name(scale)] = render_like_heldout(guided, decoder, chosen.cameras,
                                                            render_settings)
    clip = loaded_clip(clip_weights, encoder)
    metrics: dict[str, float] = {
        "samples": float(count), "seed": float(evaluate["seed"]),
        "nfe_base": float(settings.base_steps), "nfe_upsampler": float(settings.upsampler_steps),
        "guidance_scale": float(settings.guidance_scale), "real_images": float(len(chosen.real)),
        "views_per_avatar": float(views),
        **scores_against_real(chosen.real, renders, ClipImageFeatures(clip), evaluate),
    }
    frontal = renders["ours"][::views]  # (N, H, W, 4): each sample's frontal view
    neighbours = nearest_training_neighbours(
        embed_views(clip, frontal), torch.stack([avatar_embeddings[i][0] for i in train_ids]),
        train_ids)
    distances = torch.tensor([n.distance for n in neighbours])
    metrics["memorisation_nearest_distance_mean"] = float(distances.mean())
    metrics["memorisation_nearest_distance_min"] = float(distances.min())
    shown = evaluate["memorisation_rows"]
    nearest = [avatars[n.nearest_id]() for n in neighbours[:shown]]
    neighbour_images = torch.stack([a.images[a.frontal_index()] for a in nearest])
    grid = memorisation_grid(frontal[:shown], neighbour_images, scale=evaluate["scale"])
    gallery = gallery_rows({"ours": frontal[: evaluate["gallery_columns"]],
                            "gaussian": renders["gaussian"][::views][: evaluate["gallery_columns"]],
                            "held-out truth": chosen.real[::views][: evaluate["gallery_columns"]]},
                           scale=evaluate["scale"])
    showcase = showcase_samples(generated[: evaluate["showcase"]["samples"]], decoder, render,
                                evaluate, settings)
    chart = score_chart(metrics, title=f"{count} samples x {views} views vs "
                                       f"{len(chosen.real)} held-out images; seed "
                                       f"{evaluate['seed']}, NFE {settings.base_steps}+"
                                       f"{settings.upsampler_steps}")
    distribution = {"renders": {"real": chosen.real, **{
        name: renders[name] for name in ("ours", "gaussian", "fitted_heldout")}},
        "meshes": [s.mesh for s in showcase.values() if s.mesh is not None]}
    return metrics, gallery, grid, showcase, chart, distribution


def showcase_samples(planes: Tensor, decoder: Any, render: dict[str, Any],
                     evaluate: dict[str, Any], settings: SamplingSettings
                     ) -> dict[str, GeneratedAvatar]:
    """Views, a turntable and a mesh of each of the first evaluation samples."""
    showcase = evaluate["showcase"]
    rig = CameraRig(**render["camera_rig"])
    size = render["views"]["image_size"]
    views = azimuth_cameras(showcase["view_azimuths_degrees"], rig.radius, rig.fov_x, size)
    render_settings = VolumeRenderSettings(**evaluate["render"])
    return {f"sample-{index:02d}": realise(
        plane, decoder, views, rig.radius, showcase["turntable_frames"], render_settings,
        showcase["mesh_resolution"],
        {"mode": "evaluate", "index": index, "seed": evaluate["seed"],
         "sampler": settings.sampler, "base_steps": settings.base_steps,
         "upsampler_steps": settings.upsampler_steps,
         "guidance_scale": settings.guidance_scale})
        for index, plane in enumerate(planes)}
