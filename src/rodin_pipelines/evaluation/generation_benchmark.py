"""The generation benchmark (issue 16): samples for every condition a user can give, rendered
from the avatars' frontal camera and judged by the independent attribute network.

Conditions: a held-out avatar's latent e (conditional fidelity), a prompt through the prior
(text fidelity), a held-out avatar's frontal render used as a portrait, the astronaut photograph,
and a text edit ("with red hair") of held-out avatars. Each returns the renders behind its
figures, so they can be written to files and checked without the project's code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_triplanes
from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.evaluation.attribute_judge import AttributeJudge
from rodin_pipelines.evaluation.attribute_network import predict_attributes
from rodin_pipelines.evaluation.attribute_views import rgb_views
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.generation import generator
from rodin_pipelines.generation.latents import edited_latents, portrait_latent, prior_latents
from rodin_pipelines.generation.plane_refinement import RefinementSettings
from rodin_pipelines.generation.portrait_refinement import refine_towards_portrait
from rodin_pipelines.generation.text_guided_refinement import refine_towards_text
from rodin_pipelines.models.clip_embeddings import embed_views
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.normalisation import PlaneStatistics


@dataclass
class GenerationModels:
    """Everything a sample needs, loaded once: the cascade, the prior, the CLIP, the decoder,
    the stored avatars' CLIP embeddings ``{id: (V, D)}``, and the judge (which no generation
    path uses)."""

    base: Denoiser
    upsampler: Denoiser
    prior: Denoiser
    prior_statistics: dict[str, Tensor]
    clip: LoadedClip
    decoder: TriplaneDecoder
    plane_statistics: PlaneStatistics
    judge: AttributeJudge
    channels: int
    base_resolution: int
    resolution: int
    avatar_embeddings: dict[str, Tensor] = field(default_factory=dict)


def with_judge(loaded: generator.GenerationModels, judge: AttributeJudge) -> GenerationModels:
    """The generate stage's models (:func:`~rodin_pipelines.generation.generator.
    load_generation_models`, so the benchmark samples what users get) with the judge beside
    them."""
    return GenerationModels(
        base=loaded.base, upsampler=loaded.upsampler, prior=loaded.prior,
        prior_statistics=loaded.prior_statistics, clip=loaded.clip, decoder=loaded.decoder,
        plane_statistics=loaded.plane_statistics, judge=judge,
        channels=loaded.plane_statistics.channels, base_resolution=loaded.base_resolution,
        resolution=loaded.fitted_resolution, avatar_embeddings=loaded.avatar_embeddings)


@dataclass(frozen=True)
class PriorSampling:
    """How the prior samples a prompt's latent (``encoder.prior.sampling``)."""

    sampler: str = "ddim"
    steps: int = 50
    guidance_scale: float = 2.0


@dataclass(frozen=True)
class EditSettings:
    """The edit benchmark: ``edit_text`` applied to ``avatars`` held-out avatars."""

    source_text: str = "a person"
    edit_text: str = "a person with red hair"
    strength: float = 1.0
    direction: str = "text"
    direction_samples: int = 32
    avatars: int = 16
    refine: RefinementSettings = field(default_factory=RefinementSettings)
    sampling: dict[str, Any] = field(default_factory=dict)  # over the cascade's, for edits


@dataclass
class Judged:
    """Samples of one condition: tri-planes ``(B, 3, C, R, R)``, frontal renders ``(B, H, W, 4)``
    (straight RGBA) and the judge's attribute codes ``{attribute: (B,) long}``."""

    planes: Tensor
    frontal: Tensor
    predicted: dict[str, Tensor]


def judge_renders(judge: AttributeJudge, frontal: Tensor) -> dict[str, Tensor]:
    """The judge's attribute codes of straight-RGBA renders ``(B, H, W, 4)``."""
    return predict_attributes(judge, rgb_views(frontal))


def cascade(models: GenerationModels, latents: Tensor, settings: SamplingSettings,
            seed: int) -> Tensor:
    """Tri-planes ``(B, 3, C, R, R)`` for latents ``(B, D)``."""
    return sample_triplanes(models.base, models.upsampler, latents, len(latents),
                            models.channels, models.base_resolution, models.resolution,
                            models.plane_statistics, settings, seed=seed)


def judged(models: GenerationModels, planes: Tensor, camera: Cameras,
           render: VolumeRenderSettings) -> Judged:
    frontal = render_triplanes(planes, models.decoder, camera, render)[:, 0]
    return Judged(planes, frontal, judge_renders(models.judge, frontal))


def latent_samples(models: GenerationModels, latents: Tensor, camera: Cameras,
                   render: VolumeRenderSettings, settings: SamplingSettings,
                   seed: int) -> Judged:
    """One cascade sample per latent ``(B, D)``, rendered from ``camera`` and judged."""
    return judged(models, cascade(models, latents, settings, seed), camera, render)


def text_samples(models: GenerationModels, prompts: list[str], camera: Cameras,
                 render: VolumeRenderSettings, settings: SamplingSettings,
                 prior_sampling: PriorSampling, seed: int) -> Judged:
    """One sample per prompt: prompt → prior's latent → cascade (as ``generate`` text mode)."""
    latents = torch.cat([prior_latents(models.prior, models.prior_statistics, 1, models.clip,
                                       prompt, prior_sampling.sampler, prior_sampling.steps,
                                       prior_sampling.guidance_scale, seed=seed + index)
                         for index, prompt in enumerate(prompts)])
    return latent_samples(models, latents, camera, render, settings, seed)


def portrait_samples(models: GenerationModels, portraits: Tensor, camera: Cameras,
                     render: VolumeRenderSettings, settings: SamplingSettings,
                     refine: RefinementSettings, seed: int) -> Judged:
    """One sample per framed straight-RGBA portrait ``(B, H, W, 4)`` (as ``generate`` portrait
    mode: its CLIP latent → cascade → refinement of the frontal render towards it)."""
    latents = torch.cat([portrait_latent(models.clip, portrait) for portrait in portraits])
    planes = cascade(models, latents, settings, seed)
    planes = torch.cat([refine_towards_portrait(plane[None], models.decoder, camera, portrait,
                                                render, models.plane_statistics.std, refine,
                                                seed=seed)
                        for plane, portrait in zip(planes, portraits)])
    return judged(models, planes, camera, render)


def edit_samples(models: GenerationModels, latents: Tensor, camera: Cameras, rig: CameraRig,
                 render: VolumeRenderSettings, settings: SamplingSettings, edit: EditSettings,
                 prior_sampling: PriorSampling, seed: int, bank: Tensor | None = None
                 ) -> tuple[Judged, Judged]:
    """Unedited and edited samples of latents ``(B, D)`` (same noise), as ``generate`` edit
    mode: the latent moved along the edit's direction, then refined towards the text (``bank``
    ``(N, D)``: the embeddings the ``neighbours`` direction retrieves from); ``edit.sampling``
    overrides ``settings`` for both."""
    settings = generator.edit_sampling(settings, edit.sampling)
    unedited = latent_samples(models, latents, camera, render, settings, seed)
    moved = edited_latents(models.clip, latents, edit.source_text, edit.edit_text, edit.strength,
                           edit.direction, models.prior, models.prior_statistics,
                           vars(prior_sampling), edit.direction_samples, bank)
    planes = cascade(models, moved, settings, seed)
    planes = refine_towards_text(planes, models.decoder, models.clip, rig, render,
                                 edit.source_text, edit.edit_text,
                                 models.plane_statistics.std, edit.refine, seed=seed)
    return unedited, judged(models, planes, camera, render)


def clip_embeddings_of(models: GenerationModels, frontal: Tensor) -> Tensor:
    """``(B, D)`` CLIP image embeddings of straight-RGBA renders (to rank samples by)."""
    return embed_views(models.clip, frontal)
