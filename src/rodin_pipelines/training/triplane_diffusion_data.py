"""Training items for the tri-plane diffusion models (base and upsampler).

Each avatar contributes its normalised fitted tri-plane, rolled out, and its latent e (the frozen
CLIP embedding of its frontal view; optionally, with a set probability, that of one of its
near-frontal views instead: the same attributes under another e, so the model cannot key on the
exact vector of each training avatar). The base model sees the tri-plane downsampled to its
resolution; the upsampler sees the full resolution with the degraded, upsampled low-resolution
copy as context, and (with a rendering loss) one random patch of rays of a training view.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import Dataset

from rodin_pipelines.diffusion.conditioning_augmentation import (
    ConditioningAugmentation,
    degraded_with_level,
    downsample_rolled_out,
    upsampler_context,
)
from rodin_pipelines.triplane.layout import roll_out
from rodin_pipelines.triplane.normalisation import PlaneStatistics, normalise_planes
from rodin_pipelines.triplane.supervision import FitTarget, random_patch_rays


@dataclass
class TriplaneExample:
    """One training avatar: fitted ``planes`` ``(3, C, R, R)`` (not normalised), ``latent``
    ``(D,)``, its training views (only needed for the rendering loss) and the embeddings
    ``(K, D)`` of its near-frontal views (only needed when latents are drawn from views)."""

    avatar_id: str
    planes: Tensor
    latent: Tensor
    views: FitTarget | None = None
    view_latents: Tensor | None = None


class TriplaneDiffusionSet(Dataset):
    """``{"x0", "latent"[, "context"[, "context_level"]][, "ray_*"]}`` items for one diffusion
    model (``context_level``: the level-conditioned noise on the context, when configured).

    Args:
        examples: the training avatars.
        statistics: plane statistics used to normalise.
        resolution: the plane resolution this model generates (``R`` of ``x0``).
        low_resolution: the upsampler's input resolution, or ``None`` for the base model.
        augmentation: degradation of the low-resolution input (upsampler only).
        patch_size: side of the rendering-loss patch, or 0 for no rays.
        view_latent_probability: chance that an item's latent is one of its avatar's
            near-frontal view embeddings (drawn uniformly) instead of the frontal one; avatars
            without any keep the frontal one.
    """

    def __init__(self, examples: list[TriplaneExample], statistics: PlaneStatistics,
                 resolution: int, low_resolution: int | None = None,
                 augmentation: ConditioningAugmentation = ConditioningAugmentation(),
                 patch_size: int = 0, view_latent_probability: float = 0.0) -> None:
        if not examples:
            raise ValueError("no fitted tri-planes to train on; run `kedro run --pipeline fit`")
        if patch_size and any(e.views is None for e in examples):
            raise ValueError("the rendering loss needs every avatar's views; set patch_size: 0 "
                             "or keep the render stage's avatar folders")
        if not 0.0 <= view_latent_probability <= 1.0:
            raise ValueError(f"view_latent_probability is a probability, got "
                             f"{view_latent_probability}")
        if view_latent_probability > 0 and all(e.view_latents is None for e in examples):
            raise ValueError("view_latent_probability > 0 needs the near-frontal view "
                             "embeddings; run `kedro run --pipeline encoder` first")
        self.view_latent_probability = view_latent_probability
        self.examples = examples
        self.augmentation = augmentation
        self.low_resolution = low_resolution
        self.resolution = resolution
        self.patch_size = patch_size
        self.rolled = [self.normalised_rolled(e.planes, statistics, resolution)
                       for e in examples]
        self.generator = torch.Generator().manual_seed(0)

    @staticmethod
    def normalised_rolled(planes: Tensor, statistics: PlaneStatistics,
                          resolution: int | None = None) -> Tensor:
        """Fitted ``(3, C, R, R)`` → normalised roll-out ``(C, r, 3r)`` at ``resolution``."""
        rolled = roll_out(normalise_planes(planes.float(), statistics))
        if resolution is not None and rolled.shape[-2] != resolution:
            rolled = downsample_rolled_out(rolled, resolution)
        return rolled

    def latent_of(self, example: TriplaneExample) -> Tensor:
        """The item's latent ``(D,)``: the frontal one, or with :attr:`view_latent_probability`
        a near-frontal view's (global RNG, as the other draws of a training item)."""
        others = example.view_latents
        if (self.view_latent_probability > 0 and others is not None and len(others)
                and float(torch.rand(())) < self.view_latent_probability):
            return others[int(torch.randint(len(others), ()))].float()
        return example.latent.float()

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        x0 = self.rolled[index]
        item = {"x0": x0, "latent": self.latent_of(self.examples[index])}
        if self.low_resolution is not None:
            low = downsample_rolled_out(x0, self.low_resolution)
            degraded, level = degraded_with_level(low, self.augmentation)
            item["context"] = upsampler_context(degraded, self.resolution)
            if level is not None:
                item["context_level"] = level
        if self.patch_size:
            seed = int(torch.randint(2**62, ()))
            rays, pixels = random_patch_rays(self.examples[index].views, self.patch_size,
                                             self.generator.manual_seed(seed))
            item.update(ray_origins=rays.origins, ray_directions=rays.directions,
                        ray_pixels=pixels)
        return item
