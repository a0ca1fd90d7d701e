"""Mild perturbations of the attribute network's training images, so it transfers to volume renders.

Generated avatars are volume renders of fitted or sampled tri-planes: a little blurrier, a little
off in tone, and framed a little differently from the ground-truth renders the network learns
from. Each training image gets, with its own random draw: a brightness, contrast and saturation
change (never a hue change: colours are classes), a Gaussian blur with some probability, and a
sub-pixel shift (edges repeat, so the background stays the background).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

LUMA = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights of R, G, B in the grey that saturation changes move towards."""


@dataclass(frozen=True)
class AttributeAugmentation:
    """How strongly training images are perturbed (each factor drawn uniformly per image).

    Attributes:
        shift_pixels: largest shift along each axis, in pixels.
        brightness: colours scaled by a factor in ``[1 - b, 1 + b]``.
        contrast: distances from the image's mean grey scaled by ``[1 - c, 1 + c]``.
        saturation: distances from each pixel's grey scaled by ``[1 - s, 1 + s]``.
        blur_probability: chance of a Gaussian blur.
        blur_sigma: ``(low, high)`` range of its standard deviation, in pixels.
    """

    shift_pixels: float = 3.0
    brightness: float = 0.1
    contrast: float = 0.1
    saturation: float = 0.1
    blur_probability: float = 0.5
    blur_sigma: tuple[float, float] = (0.3, 1.2)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AttributeAugmentation:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})


def _factor(count: int, spread: float, generator: torch.Generator) -> Tensor:
    """``(count, 1, 1, 1)`` factors uniform in ``[1 - spread, 1 + spread]``."""
    return 1.0 + spread * (2.0 * torch.rand(count, 1, 1, 1, generator=generator) - 1.0)


def jittered_colours(images: Tensor, augmentation: AttributeAugmentation,
                     generator: torch.Generator) -> Tensor:
    """Brightness, contrast and saturation changes of RGB images ``(B, 3, H, W)`` in [0, 1]."""
    count = len(images)
    luma = torch.tensor(LUMA, dtype=images.dtype)[None, :, None, None]
    images = images * _factor(count, augmentation.brightness, generator)
    mean = (images * luma).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    images = mean + (images - mean) * _factor(count, augmentation.contrast, generator)
    grey = (images * luma).sum(1, keepdim=True)
    images = grey + (images - grey) * _factor(count, augmentation.saturation, generator)
    return images.clamp(0.0, 1.0)


def gaussian_blurred(images: Tensor, sigma: Tensor) -> Tensor:
    """Each image ``(B, 3, H, W)`` blurred by a separable Gaussian of its own ``sigma`` ``(B,)``
    (pixels; 0 leaves it unchanged), edges repeated."""
    count, channels, height, width = images.shape
    radius = max(1, math.ceil(3.0 * float(sigma.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    weights = torch.exp(-offsets**2 / (2.0 * sigma.clamp_min(1e-3)[:, None] ** 2))
    weights = (weights / weights.sum(-1, keepdim=True)).repeat_interleave(channels, 0)
    flat = images.reshape(1, count * channels, height, width)
    flat = torch.nn.functional.pad(flat, (radius, radius, radius, radius), mode="replicate")
    flat = torch.nn.functional.conv2d(flat, weights[:, None, None, :], groups=count * channels)
    flat = torch.nn.functional.conv2d(flat, weights[:, None, :, None], groups=count * channels)
    return flat.reshape(count, channels, height, width)


def shifted(images: Tensor, pixels: Tensor) -> Tensor:
    """Images ``(B, 3, H, W)`` moved by ``pixels`` ``(B, 2)`` (x right, y down; fractions
    interpolate bilinearly), edge pixels repeated into the uncovered border."""
    count, _, height, width = images.shape
    theta = torch.zeros(count, 2, 3, dtype=images.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * pixels[:, 0] / width  # sample from the left to move right
    theta[:, 1, 2] = -2.0 * pixels[:, 1] / height
    grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    return torch.nn.functional.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                                           align_corners=False)


def augmented(images: Tensor, augmentation: AttributeAugmentation,
              generator: torch.Generator) -> Tensor:
    """RGB images ``(B, 3, H, W)`` in [0, 1], each perturbed by its own random draw."""
    count = len(images)
    images = jittered_colours(images, augmentation, generator)
    if augmentation.blur_probability > 0.0:
        low, high = augmentation.blur_sigma
        sigma = low + (high - low) * torch.rand(count, generator=generator)
        blurred = torch.rand(count, generator=generator) < augmentation.blur_probability
        images = gaussian_blurred(images, torch.where(blurred, sigma, torch.zeros(())))
    if augmentation.shift_pixels > 0.0:
        pixels = augmentation.shift_pixels * (2.0 * torch.rand(count, 2, generator=generator) - 1)
        images = shifted(images, pixels)
    return images
