"""Training items for the tri-plane diffusion models (base and upsampler).

Each avatar contributes its normalised fitted tri-plane, rolled out, and its latent e (the frozen
CLIP embedding of its frontal view). The base model sees the tri-plane downsampled to its
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
    ``(D,)``, and its training views (only needed for the rendering loss)."""

    avatar_id: str
    planes: Tensor
    latent: Tensor
    views: FitTarget | None = None


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
    """

    def __init__(self, examples: list[TriplaneExample], statistics: PlaneStatistics,
                 resolution: int, low_resolution: int | None = None,
                 augmentation: ConditioningAugmentation = ConditioningAugmentation(),
                 patch_size: int = 0) -> None:
        if not examples:
            raise ValueError("no fitted tri-planes to train on; run `kedro run --pipeline fit`")
        if patch_size and any(e.views is None for e in examples):
            raise ValueError("the rendering loss needs every avatar's views; set patch_size: 0 "
                             "or keep the render stage's avatar folders")
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

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        x0 = self.rolled[index]
        item = {"x0": x0, "latent": self.examples[index].latent.float()}
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
