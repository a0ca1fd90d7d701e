"""Where the generate stage's latents come from, by mode: the prior (nothing or a prompt), a
portrait, an existing avatar; ``edit`` moves any of those along a text direction.

The modes are one enum, shared by the pipeline and the ``rodin-generate`` command line.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.generation.latents import portrait_latent, prior_latents
from rodin_pipelines.generation.portrait import frame_portrait, read_portrait
from rodin_pipelines.models.clip_loader import LoadedClip


class GenerateMode(str, Enum):
    """What ``generate.mode`` asks for."""

    UNCONDITIONAL = "unconditional"
    TEXT = "text"
    PORTRAIT = "portrait"
    EDIT = "edit"


MODES = tuple(mode.value for mode in GenerateMode)
ASTRONAUT = "astronaut"
"""``generate.portrait`` value naming scikit-image's photograph instead of a file."""


def portrait_image(source: str, size: int) -> Tensor:
    """The framed portrait ``(size, size, 4)`` of a file path, or of ``astronaut``."""
    if source == ASTRONAUT:
        from skimage import data

        photo = data.astronaut()
        rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    else:
        rgba = read_portrait(source)
    return frame_portrait(rgba, size)


def source_latents(source: str, count: int, prompt: str | None, seed: int, clip: LoadedClip,
                   prior: Denoiser, statistics: dict[str, Tensor],
                   avatar_embeddings: dict[str, Tensor], portrait: Tensor | None,
                   prior_sampling: dict[str, Any]) -> Tensor:
    """``(count, D)`` latents for ``source``: ``unconditional``, ``text`` (``prompt`` → prior),
    ``portrait`` (the framed ``portrait``) or ``avatar:<id>``; ``prior_sampling`` is the
    ``encoder.prior.sampling`` block."""
    if source.startswith("avatar:"):
        avatar_id = source.removeprefix("avatar:")
        if avatar_id not in avatar_embeddings:
            raise ValueError(f"no avatar '{avatar_id}' in the encoder's embeddings; pick one of "
                             f"data/04_feature/clip_embeddings.safetensors' ids, e.g. "
                             f"{sorted(avatar_embeddings)[:3]}")
        return avatar_embeddings[avatar_id][:1].expand(count, -1)
    if source == "portrait":
        return portrait_latent(clip, portrait).expand(count, -1)
    if source in ("unconditional", "text"):
        prompt = prompt if source == "text" else None
        if source == "text" and not (prompt or "").strip():
            raise ValueError("generate.mode=text needs a prompt: --params "
                             "\"generate.prompt='a smiling woman with long red hair'\"")
        return prior_latents(prior, statistics, count, clip, prompt,
                             sampler=prior_sampling["sampler"], steps=prior_sampling["steps"],
                             guidance_scale=prior_sampling["guidance_scale"],
                             seed=seed)
    raise ValueError(f"unknown generate source '{source}'; choose one of {MODES[:3]} or "
                     "avatar:<id>")
