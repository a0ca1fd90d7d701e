"""Nodes of the ``generate`` stage: unpack parameters, call the library, return values.

``generate.mode`` picks where latents come from (:mod:`rodin_pipelines.generation.sources`):
``unconditional`` (the prior), ``text`` (``generate.prompt`` → prior), ``portrait``
(``generate.portrait``, then refined so its frontal render matches it,
``generate.portrait_refine``) or ``edit`` (a ``generate.source`` moved from
``generate.edit.source_text`` towards ``generate.edit.edit_text``, then refined towards the edit
text through CLIP; the unedited result is written beside the edited one, and both descriptions
hold the cosine of their frontal view to the edit text). The work itself is
:mod:`rodin_pipelines.generation.generator`, which the demo page (``rodin-demo``) calls too.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rodin_pipelines.generation.generator import (
    generate_results, load_generation_models, source_of,
)
from rodin_pipelines.generation.outputs import GeneratedAvatar
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
    source_of(generate)  # an unknown mode stops before the models load
    models = load_generation_models(embedding_prior, base_model_weights, upsampler_model_weights,
                                    plane_statistics, shared_decoder, avatar_embeddings,
                                    clip_weights, encoder, diffusion, fit)
    return generate_results(models, generate, render, diffusion["sampling"],
                            encoder["prior"]["sampling"])
