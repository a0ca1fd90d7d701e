"""Where a generated avatar's latent e comes from: the prior (nothing or a prompt), a portrait,
an existing avatar, and a text edit of any of those (rodin-method §4)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.embedding_prior_sampling import sample_embeddings
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.models.latent_editing import edit


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


def edited_latents(clip: LoadedClip, latents: Tensor, source_text: str, edit_text: str,
                   strength: float) -> Tensor:
    """``latents`` ``(B, D)`` moved from ``source_text`` towards ``edit_text``."""
    return edit(clip, latents, source_text, edit_text, strength)


def latent_batches(clip: LoadedClip, latents: Tensor,
                   edit_settings: dict[str, Any] | None) -> dict[str, Tensor]:
    """The latents to sample, by the prefix of their results' names: ``{"": latents}``, or for an
    edit (``generate.edit``: ``source_text``, ``edit_text``, ``strength``) the unedited and the
    edited latents side by side, so every result has its unedited twin."""
    if edit_settings is None:
        return {"": latents}
    return {"unedited-": latents,
            "edited-": edited_latents(clip, latents, edit_settings["source_text"],
                                      edit_settings["edit_text"], edit_settings["strength"])}
