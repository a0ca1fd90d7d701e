"""Where a generated avatar's latent e comes from: the prior (nothing or a prompt), a portrait,
an existing avatar, and a text edit of any of those (rodin-method §4)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.embedding_prior_sampling import renoise_embeddings, sample_embeddings
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.models.latent_editing import edit_direction, edit_latent

EDIT_DIRECTIONS = ("text", "prior", "renoise", "neighbours")
"""How an edit moves a latent: along the CLIP text difference itself (DALL·E 2's text diff), along
that difference carried into image-embedding space by the prior (the mean change of the prior's
latents from the source to the edit text, over paired noise), through the prior itself (the
latent noised to the level ``strength`` and denoised given the edit text: SDEdit in e-space), or
along the mean image embedding of the stored avatars the text difference scores highest minus
the mean of all (an attribute vector found by CLIP retrieval: what the edit names is shared by
the neighbours, everything else averages out)."""


def prior_latents(prior: Denoiser, statistics: dict[str, Tensor], count: int,
                  clip: LoadedClip | None = None, prompt: str | None = None,
                  sampler: str = "ddim", steps: int = 50, guidance_scale: float = 2.0,
                  seed: int = 0) -> Tensor:
    """``(count, D)`` latents from the prior: unconditional, or for ``prompt``."""
    texts = None
    if prompt is not None:
        if clip is None:
            raise ValueError("a prompt needs the CLIP to embed it")
        texts = embed_texts(clip, [prompt])  # an empty prompt is a clear error there
    return sample_embeddings(prior, statistics, count, texts=texts, sampler=sampler,
                             steps=steps, guidance_scale=guidance_scale if texts is not None
                             else 1.0, seed=seed)


def portrait_latent(clip: LoadedClip, portrait: Tensor) -> Tensor:
    """``(1, D)``: the CLIP image embedding of a framed straight-RGBA portrait ``(H, W, 4)``."""
    return embed_views(clip, portrait[None])


def prior_edit_direction(prior: Denoiser, statistics: dict[str, Tensor], clip: LoadedClip,
                         source_text: str, edit_text: str, prior_sampling: dict[str, Any],
                         samples: int = 32, seed: int = 0) -> Tensor:
    """Unit direction ``(D,)`` in image-embedding space: the mean of ``samples`` paired
    differences prior(edit_text) - prior(source_text), each pair drawn from the same noise, so
    what the two texts share (and the noise) cancels and what the edit names remains."""
    source, edited = (sample_embeddings(prior, statistics, samples, texts=embed_texts(clip, [text]),
                                        sampler=prior_sampling["sampler"],
                                        steps=prior_sampling["steps"],
                                        guidance_scale=prior_sampling["guidance_scale"], seed=seed)
                      for text in (source_text, edit_text))
    difference = (edited - source).mean(0)
    norm = difference.norm()
    if norm < 1e-8:
        raise ValueError(f"the prior gives '{source_text}' and '{edit_text}' the same latents: "
                         "nothing to edit")
    return difference / norm


def frontal_embeddings(avatar_embeddings: dict[str, Tensor], excluding: Collection[str] = ()
                       ) -> Tensor:
    """``(N, D)``: the frontal rows of stored per-avatar embeddings ``{id: (V, D)}``, in id
    order, ``excluding`` ids (the bank of the ``neighbours`` edit direction)."""
    return torch.stack([views[0] for avatar_id, views in sorted(avatar_embeddings.items())
                        if avatar_id not in excluding])


def neighbour_edit_direction(clip: LoadedClip, bank: Tensor, source_text: str, edit_text: str,
                             neighbours: int = 16) -> Tensor:
    """Unit direction ``(D,)``: the mean of the ``neighbours`` unit image embeddings of ``bank``
    ``(N, D)`` that the CLIP text difference ``edit_text - source_text`` scores highest, minus
    the mean of the whole bank."""
    if not 0 < neighbours < bank.shape[0]:
        raise ValueError(f"the neighbours direction needs 0 < neighbours < the {bank.shape[0]} "
                         f"stored embeddings, got {neighbours}: lower edit.direction_samples "
                         "(best below the number of stored avatars that show the edited "
                         "attribute) or choose another edit.direction")
    scores = bank @ edit_direction(clip, source_text, edit_text)
    chosen = scores.topk(neighbours).indices
    difference = bank[chosen].mean(0) - bank.mean(0)
    return difference / difference.norm().clamp_min(1e-8)


def edited_latents(clip: LoadedClip, latents: Tensor, source_text: str, edit_text: str,
                   strength: float, direction: str = "text", prior: Denoiser | None = None,
                   prior_statistics: dict[str, Tensor] | None = None,
                   prior_sampling: dict[str, Any] | None = None,
                   direction_samples: int = 32, bank: Tensor | None = None) -> Tensor:
    """``latents`` ``(B, D)`` moved from ``source_text`` towards ``edit_text`` along a unit
    ``direction`` (one of :data:`EDIT_DIRECTIONS`; ``prior`` and ``renoise`` need the prior, its
    statistics and ``encoder.prior.sampling``; for ``renoise`` ``strength`` is the noise level in
    (0, 1]; ``neighbours`` needs ``bank``, stored unit image embeddings ``(N, D)``, and takes
    ``direction_samples`` of them)."""
    if direction == "neighbours" and bank is None:
        raise ValueError("edit direction 'neighbours' needs the stored avatars' embeddings")
    if direction in ("prior", "renoise") and (prior is None or prior_statistics is None
                                              or prior_sampling is None):
        raise ValueError(f"edit direction '{direction}' needs the prior, its statistics and its "
                         "sampling settings")
    if direction == "renoise":
        return renoise_embeddings(prior, prior_statistics, latents, embed_texts(clip, [edit_text]),
                                  strength, prior_sampling["steps"],
                                  prior_sampling["guidance_scale"])
    if direction == "text":
        unit = edit_direction(clip, source_text, edit_text)
    elif direction == "prior":
        unit = prior_edit_direction(prior, prior_statistics, clip, source_text, edit_text,
                                    prior_sampling, direction_samples)
    elif direction == "neighbours":
        unit = neighbour_edit_direction(clip, bank, source_text, edit_text, direction_samples)
    else:
        raise ValueError(f"unknown edit direction '{direction}'; choose one of {EDIT_DIRECTIONS}")
    return edit_latent(latents, unit, strength)


def latent_batches(clip: LoadedClip, latents: Tensor, edit_settings: dict[str, Any] | None,
                   prior: Denoiser | None = None, prior_statistics: dict[str, Tensor] | None = None,
                   prior_sampling: dict[str, Any] | None = None, bank: Tensor | None = None
                   ) -> dict[str, Tensor]:
    """The latents to sample, by the prefix of their results' names: ``{"": latents}``, or for an
    edit (``generate.edit``: ``source_text``, ``edit_text``, ``strength``, optional ``direction``
    and ``direction_samples``) the unedited and the edited latents side by side, so every result
    has its unedited twin (``bank``: stored unit image embeddings ``(N, D)``, for the
    ``neighbours`` direction)."""
    if edit_settings is None:
        return {"": latents}
    return {"unedited-": latents,
            "edited-": edited_latents(clip, latents, edit_settings["source_text"],
                                      edit_settings["edit_text"], edit_settings["strength"],
                                      edit_settings.get("direction", "text"), prior,
                                      prior_statistics, prior_sampling,
                                      edit_settings.get("direction_samples", 32), bank)}
