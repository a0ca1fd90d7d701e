"""What every evaluated cascade is compared on, and how: the held-out renders and cameras, the
prior's latents, the cascade's samples for them, and FID/KID on CLIP features.

The evaluate stage and the ablations share it, so that their scores compare.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.cascade import (SamplingSettings, gaussian_baseline_triplanes,
                                               sample_triplanes)
from rodin_pipelines.diffusion.embedding_prior_sampling import sample_embeddings
from rodin_pipelines.diffusion.networks import load_denoiser, load_prior
from rodin_pipelines.evaluation.generative_metrics import fid_kid, rgba_to_rgb_batch
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.evaluation.sample_renders import real_and_cameras, render_like_heldout
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.normalisation import PlaneStatistics

Triplanes = dict[str, Any]  # avatar id -> lazy reader of (planes (3, C, R, R), metadata)


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
    """The held-out avatars' renders and cameras, and ``evaluate.samples`` latents from the
    prior (seeded by ``evaluate.seed``; the same for every model compared)."""
    torch.manual_seed(evaluate["seed"])
    heldout_ids = split_ids(avatar_index, "heldout", triplanes)
    real, cameras = real_and_cameras([avatars[i]() for i in heldout_ids],
                                     evaluate["views_per_avatar"])
    prior, statistics = load_prior(embedding_prior, encoder["prior"])
    latents = sample_embeddings(prior, statistics, evaluate["samples"], sampler=settings.sampler,
                                steps=encoder["prior"]["sampling"]["steps"], seed=evaluate["seed"])
    fitted = {i: triplanes[i]()[0] for i in heldout_ids}
    first = next(iter(fitted.values()))
    sizes = {"channels": first.shape[1], "latent_dim": latents.shape[1],
             "fitted_resolution": first.shape[-1]}
    return EvaluationSet(real, cameras, latents, fitted, sizes)


def cascade_samples(base_weights: dict[str, Tensor], upsampler_weights: dict[str, Tensor],
                    plane_statistics: PlaneStatistics, diffusion: dict[str, Any],
                    chosen: EvaluationSet, settings: SamplingSettings, seed: int) -> Tensor:
    """Tri-planes ``(N, 3, C, R, R)`` of the cascade for the evaluation latents."""
    base = load_denoiser(base_weights, diffusion["base"], diffusion, chosen.sizes)
    upsampler = load_denoiser(upsampler_weights, diffusion["upsampler"], diffusion, chosen.sizes)
    return sample_triplanes(base, upsampler, chosen.latents, len(chosen.latents),
                            chosen.sizes["channels"], diffusion["base_resolution"],
                            chosen.sizes["fitted_resolution"], plane_statistics, settings,
                            seed=seed)


def compared_renders(base_weights: dict[str, Tensor], upsampler_weights: dict[str, Tensor],
                     plane_statistics: PlaneStatistics, diffusion: dict[str, Any],
                     chosen: EvaluationSet, settings: SamplingSettings,
                     training_planes: list[Tensor], decoder: TriplaneDecoder,
                     evaluate: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
    """The cascade's samples ``(N, 3, C, R, R)`` and every render set scored against the
    held-out renders, each rendered like them: ``ours``, ``fitted_heldout`` (the held-out
    avatars' own tri-planes: the ceiling), ``fitted_train`` (the first ``evaluate.samples`` of
    ``training_planes``: what a perfect generator of *other* avatars from the same distribution
    scores against this finite held-out set), ``gaussian`` (a per-texel Gaussian of
    ``training_planes``) and one per guidance scale of ``evaluate.ablations``."""
    seed = evaluate["seed"]
    render_settings = VolumeRenderSettings(**evaluate["render"])

    def rendered(planes: Tensor) -> Tensor:
        return render_like_heldout(planes, decoder, chosen.cameras, render_settings)

    generated = cascade_samples(base_weights, upsampler_weights, plane_statistics, diffusion,
                                chosen, settings, seed)
    gaussian = gaussian_baseline_triplanes(training_planes, evaluate["samples"],
                                           plane_statistics, seed)
    renders = {"ours": rendered(generated),
               "fitted_heldout": rendered(torch.stack(list(chosen.fitted.values()))),
               "fitted_train": rendered(torch.stack(training_planes[: evaluate["samples"]])),
               "gaussian": rendered(gaussian)}
    for scale in evaluate["ablations"]["guidance_scales"]:
        renders[guidance_name(scale)] = rendered(cascade_samples(
            base_weights, upsampler_weights, plane_statistics, diffusion, chosen,
            replace(settings, guidance_scale=scale), seed))
    return generated, renders


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
