"""Tri-plane resolutions for hierarchical synthesis, and the upsampler's conditioning
augmentation (rodin-method §5: the low-resolution input is degraded by blur, resizing and noise,
so the upsampler tolerates the base model's imperfect samples).

The noise can also be *level-conditioned*, as in Cascaded Diffusion Models (Ho et al. 2021,
arXiv 2106.15282, §4.2) and Imagen: the input is noised variance-preservingly at a level drawn
per example, the upsampler is told the level, and sampling picks one level for the base model's
samples. High levels hide the low-resolution detail, so the upsampler must take it from e.

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
        noise_level_max: level-conditioned noise (after the rest): level s uniform in
            [0, max], the input becomes ``sqrt(1 - s²) low + s ε`` and the upsampler is given s
            (its network must be built with ``context_noise_conditioned``). 0: off.
    """

    noise_std_max: float = 0.1
    blur_probability: float = 0.5
    blur_sigma_max: float = 0.6
    resize_probability: float = 0.25
    noise_level_max: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.noise_level_max <= 1.0:
            raise ValueError(f"noise_level_max must lie in [0, 1], got {self.noise_level_max}")


def noised_at_level(low: Tensor, level: Tensor,
                    generator: torch.Generator | None = None) -> Tensor:
    """``sqrt(1 - s²) low + s ε`` for ``low`` ``([B,] C, r, 3r)`` and level s: a scalar or
    ``(B,)``, in [0, 1]. Variance-preserving, so unit-variance planes stay unit-variance."""
    level = torch.as_tensor(level, dtype=low.dtype, device=low.device)
    if level.dim() == 1:
        level = level.reshape(-1, *[1] * (low.dim() - 1))
    if bool(((level < 0) | (level > 1)).any()):
        raise ValueError(f"noise levels must lie in [0, 1], got {level.flatten().tolist()}")
    noise = torch.randn(low.shape, generator=generator, dtype=low.dtype).to(low.device)
    return torch.sqrt(1 - level**2) * low + level * noise


def degrade_low_resolution(low: Tensor, augmentation: ConditioningAugmentation) -> Tensor:
    """One random degradation of ``(C, r, 3r)`` by blur, resizing and unconditioned noise (drawn
    from the global generator); the level-conditioned noise is :func:`noised_at_level`'s."""
    planes = roll_in(low)  # (3, C, r, r)
    if float(torch.rand(())) < augmentation.blur_probability and augmentation.blur_sigma_max > 0:
        sigma = float(torch.empty(()).uniform_(0.05, augmentation.blur_sigma_max))
        planes = vision.gaussian_blur(planes, kernel_size=[3, 3], sigma=[sigma, sigma])
    resolution = planes.shape[-1]
    if float(torch.rand(())) < augmentation.resize_probability and resolution >= 4:
        planes = down_up_sample(planes, resolution // 2)
    noise_std = float(torch.rand(())) * augmentation.noise_std_max
    return roll_out(planes) + noise_std * torch.randn_like(low)


def degraded_with_level(low: Tensor,
                        augmentation: ConditioningAugmentation) -> tuple[Tensor, Tensor | None]:
    """:func:`degrade_low_resolution`, then (when ``noise_level_max`` > 0) noise at a level
    drawn uniformly in [0, max]: ``(C, r, 3r)`` → (degraded ``(C, r, 3r)``, level ``()`` or
    None when the augmentation has no level)."""
    degraded = degrade_low_resolution(low, augmentation)
    if augmentation.noise_level_max <= 0:
        return degraded, None
    level = torch.rand(()) * augmentation.noise_level_max
    return noised_at_level(degraded, level), level


def upsampler_context(low: Tensor, resolution: int) -> Tensor:
    """The upsampler's extra input channels: ``([B,] C, r, 3r)`` → ``([B,] C, R, 3R)``."""
    if low.dim() == 3:
        return upsample_rolled_out(low[None], resolution)[0]
    return upsample_rolled_out(low, resolution)
