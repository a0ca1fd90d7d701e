"""The base model's network on texel patches: the roll-out U-Net run on each plane's ``p × p``
texel blocks stacked as channels (space-to-depth), so the base model generates ``R²`` planes at
about the cost of an ``(R / p)²`` U-Net.

Simple diffusion (Hoogeboom et al. 2023, arXiv 2301.11093) and DiT's patches do the same to
images. Here it lets the CPU profile's base model generate 32² planes (where glasses frames and
eyes still show) with the U-Net of the 16² model. The diffusion itself is untouched: the noise is
i.i.d. per texel, so it is the same Gaussian process on the ``R²`` planes; only the network reads
and writes them through :func:`torch.nn.functional.pixel_unshuffle` and ``pixel_shuffle``.
Blocks never straddle a plane border: a roll-out's planes start at multiples of ``R``, which
``p`` divides.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.nn import functional

from rodin_pipelines.models.rollout_unet import RollOutUNet
from rodin_pipelines.triplane.layout import PLANE_COUNT


class PatchedRollOutUNet(RollOutUNet):
    """Denoiser ``(B, C_in, R, 3R)`` → ``(B, C_out, R, 3R)`` through a :class:`RollOutUNet` on
    ``(B, C_in p², R/p, 3R/p)``.

    Args:
        in_channels, out_channels: the tri-plane map's channels (the inner U-Net has ``p²`` times
            as many).
        resolution: R, the plane resolution generated; ``patch_size`` must divide it.
        patch_size: p, the texel block's side (1: the plain U-Net).
        **unet: the other :class:`RollOutUNet` arguments; ``attention_resolutions`` name the
            inner U-Net's plane resolutions (``R/p`` at level 0).
    """

    def __init__(self, in_channels: int, out_channels: int, resolution: int,
                 patch_size: int = 2, **unet: Any) -> None:
        if patch_size < 1 or resolution % patch_size:
            raise ValueError(f"patch_size {patch_size} must be >= 1 and divide R = {resolution}")
        area = patch_size * patch_size
        super().__init__(in_channels * area, out_channels * area, resolution // patch_size,
                         **unet)
        self.patch_size = patch_size
        self.map_shape = (in_channels, resolution, PLANE_COUNT * resolution)

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        """As :meth:`RollOutUNet.forward`, on the full-resolution map ``(B, C_in, R, 3R)``."""
        if tuple(x.shape[1:]) != self.map_shape:
            raise ValueError(f"x must be (B, C, R, 3R) = (B, {', '.join(map(str, self.map_shape))})"
                             f", got {tuple(x.shape)}")
        inner = functional.pixel_unshuffle(x, self.patch_size)  # (B, C p², R/p, 3R/p)
        return functional.pixel_shuffle(super().forward(inner, t, latent, latent_keep),
                                        self.patch_size)


__all__ = ["PatchedRollOutUNet"]
