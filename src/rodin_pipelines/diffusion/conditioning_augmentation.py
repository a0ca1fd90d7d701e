"""Tri-plane resolutions for hierarchical synthesis, and the upsampler's conditioning
augmentation (rodin-method §5: the low-resolution input is degraded by blur, resizing and noise,
so the upsampler tolerates the base model's imperfect samples).

Everything acts per plane (rolled in), so nothing mixes across plane borders.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as vision

from rodin_pipelines.models.plane_ops import upsample_rolled_out
from rodin_pipelines.triplane.layout import roll_in, roll_out
from rodin_pipelines.triplane.rescale import down_up_sample, resize_planes


def downsample_rolled_out(rolled: Tensor, resolution: int) -> Tensor:
    """``(…, C, R, 3R)`` → ``(…, C, r, 3r)`` by area averaging each plane."""
    return roll_out(resize_planes(roll_in(rolled), resolution, "area"))


@dataclass(frozen=True)
class ConditioningAugmentation:
    """How the low-resolution input is degraded in upsampler training.

    Attributes:
        noise_std_max: Gaussian noise with std drawn uniformly in [0, max] (normalised units).
        blur_probability / blur_sigma_max: Gaussian blur of each plane, sigma in (0, max] texels.
        resize_probability: an extra down/up resize by 2 (another resampling kernel's blur).
    """

    noise_std_max: float = 0.1
    blur_probability: float = 0.5
    blur_sigma_max: float = 0.6
    resize_probability: float = 0.25


def degrade_low_resolution(low: Tensor, augmentation: ConditioningAugmentation) -> Tensor:
    """One random degradation of ``(C, r, 3r)`` (drawn from the global generator)."""
    planes = roll_in(low)  # (3, C, r, r)
    if float(torch.rand(())) < augmentation.blur_probability and augmentation.blur_sigma_max > 0:
        sigma = float(torch.empty(()).uniform_(0.05, augmentation.blur_sigma_max))
        planes = vision.gaussian_blur(planes, kernel_size=[3, 3], sigma=[sigma, sigma])
    resolution = planes.shape[-1]
    if float(torch.rand(())) < augmentation.resize_probability and resolution >= 4:
        planes = down_up_sample(planes, resolution // 2)
    noise_std = float(torch.rand(())) * augmentation.noise_std_max
    return roll_out(planes) + noise_std * torch.randn_like(low)


def upsampler_context(low: Tensor, resolution: int) -> Tensor:
    """The upsampler's extra input channels: ``([B,] C, r, 3r)`` → ``([B,] C, R, 3R)``."""
    if low.dim() == 3:
        return upsample_rolled_out(low[None], resolution)[0]
    return upsample_rolled_out(low, resolution)
