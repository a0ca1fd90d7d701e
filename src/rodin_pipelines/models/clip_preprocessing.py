"""How images enter the CLIP: compositing over a background, resizing (and, in training,
augmenting) and normalising exactly as CLIP expects.

It lives beside the model because every user of the CLIP (training, embedding avatars, image
features for FID) must preprocess the same way; training only adds the augmentation.
"""

from __future__ import annotations

from dataclasses import dataclass

from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import Tensor
from torchvision.transforms import v2

from rodin_pipelines.rendering.compositing import straight_rgba_over


@dataclass(frozen=True)
class Augmentation:
    """How strongly training images are perturbed."""

    crop_scale: tuple[float, float] = (0.75, 1.0)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.1
    blur_probability: float = 0.2
    blur_sigma: tuple[float, float] = (0.1, 1.0)


def clip_image_transform(image_size: int, augmentation: Augmentation | None) -> v2.Compose:
    """``(3, H, W)`` float RGB in [0, 1] → CLIP input ``(3, S, S)``, normalised as CLIP expects."""
    steps: list[v2.Transform] = []
    if augmentation is not None:
        steps += [
            v2.RandomResizedCrop(image_size, scale=augmentation.crop_scale, ratio=(0.9, 1.1),
                                 antialias=True),
            v2.ColorJitter(augmentation.brightness, augmentation.contrast,
                           augmentation.saturation),
            v2.RandomApply([v2.GaussianBlur(3, sigma=augmentation.blur_sigma)],
                           p=augmentation.blur_probability),
        ]
    else:
        steps.append(v2.Resize(image_size, antialias=True))
    steps.append(v2.Normalize(OPENAI_DATASET_MEAN, OPENAI_DATASET_STD))
    return v2.Compose(steps)


def over_background(rgba: Tensor, colour: Tensor) -> Tensor:
    """Straight RGBA ``(H, W, 4)`` → RGB ``(3, H, W)`` over a background colour ``(3,)``."""
    return straight_rgba_over(rgba, colour).permute(2, 0, 1)
