"""Nodes of the ``diffusion`` stage: unpack parameters, call the library, return values.

The training node (:func:`~rodin_pipelines.training.diffusion_training.train_diffusion_model`)
is a template used twice, under the namespaces ``base`` and ``upsampler``; ``params:model`` is
``diffusion.base`` or ``diffusion.upsampler``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.diffusion.networks import load_denoiser
from rodin_pipelines.evaluation.diffusion_gallery import heldout_gallery
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.diffusion_training import (
    collect_triplane_examples,
    data_sizes,
    train_diffusion_model,
)
from rodin_pipelines.training.triplane_diffusion_data import TriplaneExample
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit

__all__ = ["collect_triplane_examples", "sample_gallery", "train_diffusion_model"]


def sample_gallery(base_weights: dict[str, Tensor], upsampler_weights: dict[str, Tensor],
                   examples: list[TriplaneExample], plane_statistics: PlaneStatistics,
                   shared_decoder: SharedDecoderFit, avatars: dict[str, AvatarFolderReader],
                   avatar_embeddings: dict[str, Tensor], avatar_index: pd.DataFrame,
                   clip_weights: dict[str, Tensor], encoder: dict[str, Any],
                   diffusion: dict[str, Any]) -> tuple[np.ndarray, dict[str, float]]:
    """The held-out gallery (truth, conditional, unconditional, Gaussian baseline) and its
    metrics, for the first ``diffusion.gallery.avatars`` held-out avatars."""
    gallery = diffusion["gallery"]
    heldout = [i for i in avatar_index.loc[avatar_index["split"] == "heldout", "avatar_id"]
               if i in avatar_embeddings][: gallery["avatars"]]
    sizes = data_sizes(examples)
    base = load_denoiser(base_weights, diffusion["base"], diffusion, sizes)
    upsampler = load_denoiser(upsampler_weights, diffusion["upsampler"], diffusion, sizes)
    return heldout_gallery(
        base, upsampler, [avatars[i]() for i in heldout],
        torch.stack([avatar_embeddings[i][0] for i in heldout]),
        [e.planes for e in examples], plane_statistics, shared_decoder.decoder,
        load_trained_clip(clip_weights, encoder["clip"]["architecture"]),
        SamplingSettings(**diffusion["sampling"]), VolumeRenderSettings(**gallery["render"]),
        sizes, base_resolution=diffusion["base_resolution"], seed=gallery["seed"],
        scale=gallery["scale"])
