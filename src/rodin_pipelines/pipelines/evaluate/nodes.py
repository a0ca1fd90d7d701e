"""Nodes of the ``evaluate`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

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
from rodin_pipelines.evaluation.generative_metrics import fid_kid, rgba_to_rgb_batch
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.evaluation.memorisation import memorisation_grid, nearest_training_neighbours
from rodin_pipelines.evaluation.sample_renders import real_and_cameras, render_like_heldout
from rodin_pipelines.models.clip_embeddings import embed_views
from rodin_pipelines.pipelines.diffusion.nodes import load_denoiser
from rodin_pipelines.pipelines.encoder.nodes import loaded_clip
from rodin_pipelines.pipelines.encoder.prior_nodes import load_prior
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit

Triplanes = dict[str, Any]


def _ids(avatar_index: pd.DataFrame, split: str, available: Any) -> list[str]:
    return [i for i in avatar_index.loc[avatar_index["split"] == split, "avatar_id"]
            if i in available]


def evaluate_generation(embedding_prior: dict[str, Tensor], base_model_weights: dict[str, Tensor],
                        upsampler_model_weights: dict[str, Tensor],
                        plane_statistics: dict[str, Tensor], shared_decoder: SharedDecoderFit,
                        triplanes: Triplanes, avatars: dict[str, AvatarFolderReader],
                        avatar_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                        clip_weights: dict[str, Tensor], encoder: dict[str, Any],
                        diffusion: dict[str, Any], evaluate: dict[str, Any]
                        ) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Unconditional samples (prior → cascade) vs held-out renders; baselines beside them."""
    torch.manual_seed(evaluate["seed"])
    heldout_ids = _ids(avatar_index, "heldout", triplanes)
    train_ids = _ids(avatar_index, "train", avatar_embeddings)
    heldout = [avatars[i]() for i in heldout_ids]
    real, cameras = real_and_cameras(heldout, evaluate["views_per_avatar"])
    count = evaluate["samples"]
    settings = SamplingSettings(**{**diffusion["sampling"], **evaluate["sampling"]})
    prior, statistics = load_prior(embedding_prior, encoder)
    latents = sample_embeddings(prior, statistics, count, sampler=settings.sampler,
                                steps=encoder["prior"]["sampling"]["steps"], seed=evaluate["seed"])
    fitted = {i: triplanes[i]()[0] for i in heldout_ids}
    first = next(iter(fitted.values()))
    sizes = {"channels": first.shape[1], "latent_dim": latents.shape[1],
             "fitted_resolution": first.shape[-1]}
    base = load_denoiser(base_model_weights, diffusion["base"], diffusion, sizes)
    upsampler = load_denoiser(upsampler_model_weights, diffusion["upsampler"], diffusion, sizes)
    generated = sample_triplanes(base, upsampler, latents, count, sizes["channels"],
                                 diffusion["base_resolution"], sizes["fitted_resolution"],
                                 plane_statistics, settings, seed=evaluate["seed"])
    training_rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(
        triplanes[i]()[0], plane_statistics) for i in _ids(avatar_index, "train", triplanes)])
    gaussian = gaussian_baseline_triplanes(training_rolled, count, plane_statistics,
                                           evaluate["seed"])
    render = VolumeRenderSettings(**evaluate["render"])
    decoder = shared_decoder.decoder
    renders = {
        "ours": render_like_heldout(generated, decoder, cameras, render),
        "fitted_heldout": render_like_heldout(torch.stack(list(fitted.values())), decoder,
                                              cameras, render),
        "gaussian": render_like_heldout(gaussian, decoder, cameras, render),
    }
    clip = loaded_clip(clip_weights, encoder)
    features = ClipImageFeatures(clip)
    subset = min(evaluate["kid_subset_size"], len(real), *(len(r) for r in renders.values()))
    metrics: dict[str, float] = {
        "samples": float(count), "seed": float(evaluate["seed"]),
        "nfe_base": float(settings.base_steps), "nfe_upsampler": float(settings.upsampler_steps),
        "guidance_scale": float(settings.guidance_scale), "real_images": float(len(real)),
        "views_per_avatar": float(evaluate["views_per_avatar"]),
    }
    real_rgb = rgba_to_rgb_batch(real)
    for name, images in renders.items():
        scores = fid_kid(real_rgb, rgba_to_rgb_batch(images), features, subset,
                         seed=evaluate["seed"])
        metrics[f"fid_clip_{name}"] = float(scores["fid"])
        metrics[f"kid_clip_{name}"] = float(scores["kid_mean"])
    views = evaluate["views_per_avatar"]
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
                            "held-out truth": real[::views][: evaluate["gallery_columns"]]},
                           scale=evaluate["scale"])
    return metrics, gallery, grid

