"""Text-guided editing in CLIP space (method §4): move an avatar latent along a text direction.

``e' = normalise(e + strength * normalise(t_edit - t_source))``: the direction from the source
description to the edit description ("a man with short hair" → "a man with short red hair"),
added to the avatar's unit CLIP image embedding and renormalised onto the unit sphere.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rodin_pipelines.models.clip_embeddings import embed_texts
from rodin_pipelines.models.clip_loader import LoadedClip


def edit_direction(clip: LoadedClip, source_text: str, edit_text: str) -> Tensor:
    """Unit direction ``(D,)`` from the source to the edit description in CLIP text space."""
    source, edit = embed_texts(clip, [source_text, edit_text])
    difference = edit - source
    norm = difference.norm()
    if norm < 1e-8:
        raise ValueError(f"'{source_text}' and '{edit_text}' embed identically: nothing to edit")
    return difference / norm


def edit_latent(latent: Tensor, direction: Tensor, strength: float) -> Tensor:
    """Unit latents ``(..., D)`` moved by ``strength`` along ``direction`` ``(D,)``.

    ``strength = 0`` returns the latent unchanged.
    """
    if strength == 0:
        return latent
    return torch.nn.functional.normalize(latent + strength * direction, dim=-1)


def edit(clip: LoadedClip, latent: Tensor, source_text: str, edit_text: str,
         strength: float) -> Tensor:
    """``latent`` edited from ``source_text`` towards ``edit_text`` with ``strength``."""
    return edit_latent(latent, edit_direction(clip, source_text, edit_text), strength)
