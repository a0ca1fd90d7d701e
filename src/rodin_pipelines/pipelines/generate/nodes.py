"""Nodes of the ``generate`` stage: unpack parameters, call the library, return values.

``generate.mode`` picks where latents come from (:mod:`rodin_pipelines.generation.sources`):
``unconditional`` (the prior), ``text`` (``generate.prompt`` → prior), ``portrait``
(``generate.portrait``, then refined so its frontal render matches it,
``generate.portrait_refine``) or ``edit`` (a ``generate.source`` moved from
``generate.edit.source_text`` towards ``generate.edit.edit_text``, then refined towards the edit
text through CLIP; the unedited result is written beside the edited one, and both descriptions
hold the cosine of their frontal view to the edit text).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_triplanes
from rodin_pipelines.diffusion.networks import load_denoiser, load_prior
from rodin_pipelines.folder_names import checked_folder_name
from rodin_pipelines.generation.latents import latent_batches
from rodin_pipelines.generation.outputs import GeneratedAvatar, realise, result_description
from rodin_pipelines.generation.plane_refinement import RefinementSettings
from rodin_pipelines.generation.portrait_refinement import refine_towards_portrait
from rodin_pipelines.generation.sources import MODES, portrait_image, source_latents
from rodin_pipelines.generation.text_guided_refinement import (frontal_text_cosine,
                                                                 refine_towards_text)
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.rendering.camera_rig import CameraRig, rig_frontal_camera
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.turntable import azimuth_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit


def generate_avatars(embedding_prior: dict[str, Tensor], base_model_weights: dict[str, Tensor],
                     upsampler_model_weights: dict[str, Tensor],
                     plane_statistics: PlaneStatistics, shared_decoder: SharedDecoderFit,
                     avatar_embeddings: dict[str, Tensor], clip_weights: dict[str, Tensor],
                     encoder: dict[str, Any], diffusion: dict[str, Any], render: dict[str, Any],
                     fit: dict[str, Any], generate: dict[str, Any]
                     ) -> dict[str, GeneratedAvatar]:
    """Tri-planes, renders, turntables and meshes for the configured mode."""
    mode = generate["mode"]
    if mode not in MODES:
        raise ValueError(f"generate.mode must be one of {MODES}, got '{mode}'")
    checked_folder_name(generate["name"], "generate.name")  # before minutes of sampling
    size = render["views"]["image_size"]
    clip = load_trained_clip(clip_weights, encoder["clip"]["architecture"])
    prior, statistics = load_prior(embedding_prior, encoder["prior"])
    source = generate["edit"]["source"] if mode == "edit" else mode
    portrait = portrait_image(generate["portrait"], size) if source == "portrait" else None
    latents = source_latents(source, generate["count"], generate.get("prompt"), generate["seed"],
                             clip, prior, statistics, avatar_embeddings, portrait,
                             encoder["prior"]["sampling"])
    batches = latent_batches(clip, latents, generate["edit"] if mode == "edit" else None)
    channels = plane_statistics.channels
    sizes = {"channels": channels, "latent_dim": latents.shape[1],
             "fitted_resolution": int(fit["resolution"])}
    base = load_denoiser(base_model_weights, diffusion["base"], diffusion, sizes)
    upsampler = load_denoiser(upsampler_model_weights, diffusion["upsampler"], diffusion, sizes)
    settings = SamplingSettings(**{**diffusion["sampling"], **generate["sampling"]})
    rig = CameraRig(**render["camera_rig"])
    views = azimuth_cameras(generate["view_azimuths_degrees"], rig.radius, rig.fov_x, size)
    render_settings = VolumeRenderSettings(**generate["render"])
    results: dict[str, GeneratedAvatar] = {}
    refinement = RefinementSettings(**generate["edit"].get("refine", {}))
    for prefix, batch in batches.items():
        planes = sample_triplanes(base, upsampler, batch, len(batch), channels,
                                  diffusion["base_resolution"], sizes["fitted_resolution"],
                                  plane_statistics, settings, seed=generate["seed"])
        if prefix == "edited-":
            edit = generate["edit"]
            planes = refine_towards_text(planes, shared_decoder.decoder, clip, rig,
                                         render_settings, edit["source_text"],
                                         edit["edit_text"], plane_statistics.std, refinement,
                                         seed=generate["seed"])
        if mode == "portrait":
            planes = refine_towards_portrait(
                planes, shared_decoder.decoder,
                Cameras(rig_frontal_camera(rig), rig.fov_x, size, size), portrait,
                render_settings,
                plane_statistics.std,
                RefinementSettings(**generate.get("portrait_refine", {})), seed=generate["seed"])
        for index, plane in enumerate(planes):
            result = realise(plane, shared_decoder.decoder, views, rig.radius,
                             generate["turntable_frames"], render_settings,
                             generate["mesh_resolution"],
                             result_description(generate, source, index, settings))
            if mode == "edit":  # how well the frontal view matches the edit text, for both
                result.description["edit_text_cosine"] = frontal_text_cosine(
                    clip, result.views, generate["edit"]["edit_text"])
            results[f"{generate['name']}-{prefix}{index:02d}"] = result
    return results

