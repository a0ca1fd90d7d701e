"""The generate stage's work, shared by its Kedro node and the demo page (one implementation).

:func:`load_generation_models` rebuilds the trained networks once from the stored tensors;
:func:`generate_results` turns a ``generate`` parameter block into results: latents by mode
(:mod:`rodin_pipelines.generation.sources`), base + upsampler sampling, the portrait or edit
refinement, renders, a turntable and a mesh per result. :func:`results_from_latents` starts from
given latents (the demo's edit of one of its own results, whose latent it kept).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_triplanes
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.networks import load_denoiser, load_prior
from rodin_pipelines.folder_names import checked_folder_name
from rodin_pipelines.generation.latents import frontal_embeddings, latent_batches
from rodin_pipelines.generation.outputs import GeneratedAvatar, realise, result_description
from rodin_pipelines.generation.plane_refinement import RefinementSettings
from rodin_pipelines.generation.portrait_refinement import refine_towards_portrait
from rodin_pipelines.generation.sources import MODES, portrait_image, source_latents
from rodin_pipelines.generation.text_guided_refinement import (frontal_text_cosine,
                                                                 refine_towards_text)
from rodin_pipelines.models.clip_loader import LoadedClip, load_trained_clip
from rodin_pipelines.rendering.camera_rig import CameraRig, rig_frontal_camera
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.turntable import azimuth_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit

MODEL_INPUTS = ("embedding_prior", "base_model_weights", "upsampler_model_weights",
                "plane_statistics", "shared_decoder", "avatar_embeddings", "clip_weights")
"""The stored models generation reads, by their catalog names (the node's inputs, the demo's
loads), in :func:`load_generation_models`' order."""


@dataclass(frozen=True)
class GenerationModels:
    """Everything generation needs that training made, loaded once."""

    clip: LoadedClip
    prior: Denoiser
    prior_statistics: dict[str, Tensor]
    base: Denoiser
    upsampler: Denoiser
    plane_statistics: PlaneStatistics
    decoder: TriplaneDecoder
    avatar_embeddings: dict[str, Tensor]
    base_resolution: int
    fitted_resolution: int


def load_generation_models(embedding_prior: dict[str, Tensor],
                           base_model_weights: dict[str, Tensor],
                           upsampler_model_weights: dict[str, Tensor],
                           plane_statistics: PlaneStatistics,
                           shared_decoder: SharedDecoderFit,
                           avatar_embeddings: dict[str, Tensor],
                           clip_weights: dict[str, Tensor], encoder: dict[str, Any],
                           diffusion: dict[str, Any], fit: dict[str, Any]) -> GenerationModels:
    """The networks rebuilt from the stored tensors and the ``encoder``, ``diffusion`` and
    ``fit`` parameter blocks."""
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    prior, statistics = load_prior(embedding_prior, encoder["prior"])
    # The diffusion models are conditioned on CLIP image embeddings, the prior's output.
    sizes = {"channels": plane_statistics.channels, "latent_dim": statistics["mean"].numel(),
             "fitted_resolution": int(fit["resolution"])}
    return GenerationModels(
        clip=clip, prior=prior, prior_statistics=statistics,
        base=load_denoiser(base_model_weights, diffusion["base"], diffusion, sizes),
        upsampler=load_denoiser(upsampler_model_weights, diffusion["upsampler"], diffusion, sizes),
        plane_statistics=plane_statistics, decoder=shared_decoder.decoder,
        avatar_embeddings=avatar_embeddings, base_resolution=int(diffusion["base_resolution"]),
        fitted_resolution=sizes["fitted_resolution"])


def source_of(generate: dict[str, Any]) -> str:
    """Where the latents come from: the mode, or for an edit ``generate.edit.source``."""
    mode = generate["mode"]
    if mode not in MODES:
        raise ValueError(f"generate.mode must be one of {MODES}, got '{mode}'")
    return generate["edit"]["source"] if mode == "edit" else mode


def generate_results(models: GenerationModels, generate: dict[str, Any],
                     render: dict[str, Any], diffusion_sampling: dict[str, Any],
                     prior_sampling: dict[str, Any], progress: bool = False
                     ) -> dict[str, GeneratedAvatar]:
    """Results ``<generate.name>-[edited-|unedited-]NN`` of the ``generate`` block; ``render``
    is the render stage's block, ``diffusion_sampling`` and ``prior_sampling`` the
    ``diffusion.sampling`` and ``encoder.prior.sampling`` blocks; ``progress`` shows a bar per
    sampler run (refinement always shows one)."""
    source = source_of(generate)
    checked_folder_name(generate["name"], "generate.name")  # before minutes of sampling
    size = render["views"]["image_size"]
    portrait = portrait_image(generate["portrait"], size) if source == "portrait" else None
    latents = source_latents(source, generate["count"], generate.get("prompt"), generate["seed"],
                             models.clip, models.prior, models.prior_statistics,
                             models.avatar_embeddings, portrait, prior_sampling)
    return results_from_latents(models, latents, source, generate, render, diffusion_sampling,
                                portrait, progress, prior_sampling)


def mode_sampling(diffusion_sampling: dict[str, Any], generate: dict[str, Any]
                  ) -> SamplingSettings:
    """The cascade's sampling for the ``generate`` block's mode: ``diffusion.sampling``, then
    ``generate.sampling``, then for an edit ``generate.edit.sampling`` (edits want a lower
    guidance than text: a strong guidance pulls the edited latent's other attributes along)."""
    settings = SamplingSettings(**{**diffusion_sampling, **generate["sampling"]})
    if generate["mode"] != "edit":
        return settings
    return edit_sampling(settings, generate["edit"].get("sampling", {}))


def edit_sampling(settings: SamplingSettings, edit_overrides: dict[str, Any]) -> SamplingSettings:
    """``settings`` with an edit's own sampling keys (``generate.edit.sampling``, or the
    benchmark's ``evaluate.generation.edit.sampling``) over them: the one place both read it."""
    return replace(settings, **edit_overrides)


def results_from_latents(models: GenerationModels, latents: Tensor, source: str,
                         generate: dict[str, Any], render: dict[str, Any],
                         diffusion_sampling: dict[str, Any], portrait: Tensor | None = None,
                         progress: bool = False, prior_sampling: dict[str, Any] | None = None
                         ) -> dict[str, GeneratedAvatar]:
    """Results of latents ``(B, D)`` from ``source`` (recorded in each description); an edit
    moves them from ``generate.edit.source_text`` to ``edit_text`` first and writes the
    unedited result beside the edited one, with the same seed (an edit direction ``prior``
    needs ``prior_sampling``, the ``encoder.prior.sampling`` block)."""
    mode = generate["mode"]
    checked_folder_name(generate["name"], "generate.name")
    edit = generate["edit"] if mode == "edit" else None
    bank = (frontal_embeddings(models.avatar_embeddings)
            if edit is not None and edit.get("direction") == "neighbours" else None)
    batches = latent_batches(models.clip, latents, edit, models.prior, models.prior_statistics,
                             prior_sampling, bank)
    size = render["views"]["image_size"]
    settings = mode_sampling(diffusion_sampling, generate)
    rig = CameraRig(**render["camera_rig"])
    views = azimuth_cameras(generate["view_azimuths_degrees"], rig.radius, rig.fov_x, size)
    render_settings = VolumeRenderSettings(**generate["render"])
    results: dict[str, GeneratedAvatar] = {}
    for prefix, batch in batches.items():
        planes = sample_triplanes(models.base, models.upsampler, batch, len(batch),
                                  models.plane_statistics.channels, models.base_resolution,
                                  models.fitted_resolution, models.plane_statistics, settings,
                                  seed=generate["seed"], progress=progress)
        if prefix == "edited-":
            planes = refine_towards_text(planes, models.decoder, models.clip, rig,
                                         render_settings, edit["source_text"],
                                         edit["edit_text"], models.plane_statistics.std,
                                         RefinementSettings(**edit.get("refine", {})),
                                         seed=generate["seed"])
        if mode == "portrait":
            planes = refine_towards_portrait(
                planes, models.decoder, Cameras(rig_frontal_camera(rig), rig.fov_x, size, size),
                portrait, render_settings, models.plane_statistics.std,
                RefinementSettings(**generate.get("portrait_refine", {})), seed=generate["seed"])
        for index, plane in enumerate(planes):
            result = realise(plane, models.decoder, views, rig.radius,
                             generate["turntable_frames"], render_settings,
                             generate["mesh_resolution"],
                             result_description(generate, source, index, settings))
            result.latent = batch[index]
            if mode == "edit":  # how well the frontal view matches the edit text, for both
                result.description["edit_text_cosine"] = frontal_text_cosine(
                    models.clip, result.views, edit["edit_text"])
            results[f"{generate['name']}-{prefix}{index:02d}"] = result
    return results
