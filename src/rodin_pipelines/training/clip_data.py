"""Image–caption pairs from avatar folders, for training the domain CLIP.

One item per avatar per epoch (so a batch never pairs an image with another view of its own
avatar as a negative): a random view, composited on a random background colour and augmented
(crop, colour, blur) so the CLIP does not only work on perfect renders, with a random caption
among the avatar's caption and paraphrases.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms import v2

from rodin_pipelines.avatars.folder import FRONTAL_SPLIT, AvatarViews, read_avatar_folder
from rodin_pipelines.rendering.compositing import straight_rgba_over
from rodin_pipelines.training.hard_negatives import counterfactual_caption


@dataclass(frozen=True)
class Augmentation:
    """How strongly training images are perturbed."""

    crop_scale: tuple[float, float] = (0.75, 1.0)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.1
    blur_probability: float = 0.2


def clip_image_transform(image_size: int, augmentation: Augmentation | None) -> v2.Compose:
    """``(3, H, W)`` float RGB in [0, 1] → CLIP input ``(3, S, S)``, normalised as CLIP expects."""
    steps: list[v2.Transform] = []
    if augmentation is not None:
        steps += [
            v2.RandomResizedCrop(image_size, scale=augmentation.crop_scale, ratio=(0.9, 1.1),
                                 antialias=True),
            v2.ColorJitter(augmentation.brightness, augmentation.contrast,
                           augmentation.saturation),
            v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 1.0))],
                           p=augmentation.blur_probability),
        ]
    else:
        steps.append(v2.Resize(image_size, antialias=True))
    steps.append(v2.Normalize(OPENAI_DATASET_MEAN, OPENAI_DATASET_STD))
    return v2.Compose(steps)


def over_background(rgba: Tensor, colour: Tensor) -> Tensor:
    """Straight RGBA ``(H, W, 4)`` → RGB ``(3, H, W)`` over a background colour ``(3,)``."""
    return straight_rgba_over(rgba, colour).permute(2, 0, 1)


class AvatarCaptionPairs(Dataset):
    """``(image (3, S, S), tokens (L,), negative tokens (L,), has negative ())`` items, one per
    avatar folder with captions.

    Args:
        frontal_probability: chance of showing the frontal view (the view the latent is taken
            from, and where glasses show) instead of a random one.
        hard_negatives: add a counterfactual caption (one attribute changed) per item.
    """

    def __init__(self, avatars: dict[str, Callable[[], AvatarViews]] | list[str],
                 tokenizer: Callable[[list[str]], Tensor], image_size: int,
                 augmentation: Augmentation | None = Augmentation(),
                 frontal_probability: float = 0.0, hard_negatives: bool = False) -> None:
        readers = (avatars.values() if isinstance(avatars, dict)
                   else [lambda f=f: read_avatar_folder(f) for f in avatars])
        self.avatars = [avatar for avatar in (read() for read in readers) if avatar.captions]
        if not self.avatars:
            raise ValueError("no avatars with captions to train a CLIP on; run the render stage")
        self.tokenizer = tokenizer
        self.transform = clip_image_transform(image_size, augmentation)
        self.augment = augmentation is not None
        self.frontal_probability = frontal_probability
        self.hard_negatives = hard_negatives
        self.rng = random.Random(0)

    def __len__(self) -> int:
        return len(self.avatars)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        avatar = self.avatars[index]
        view = int(torch.randint(len(avatar.images), ()).item()) if self.augment else 0
        frontal = avatar.split_indices(FRONTAL_SPLIT)
        if frontal and float(torch.rand(())) < self.frontal_probability:
            view = frontal[0]
        background = torch.rand(3) if self.augment else torch.ones(3)
        image = self.transform(over_background(avatar.images[view], background))
        caption = avatar.captions[int(torch.randint(len(avatar.captions), ()).item())
                                  if self.augment else 0]
        tokens = self.tokenizer([caption])[0]
        negative = counterfactual_caption(avatar.attributes, self.rng) if self.hard_negatives else None
        negative_tokens = tokens if negative is None else self.tokenizer([negative])[0]
        return image, tokens, negative_tokens, torch.tensor(negative is not None)
