"""The upsampler's network (method §5): the roll-out U-Net reading the noisy full-resolution map
and the low-resolution map brought up to it, as guided-diffusion's ``SuperResModel`` subclasses
its ``UNetModel``.

The caller upsamples the low-resolution map per plane
(:func:`~rodin_pipelines.diffusion.conditioning_augmentation.upsampler_context`) and the denoiser
concatenates it as context, so the network itself is the U-Net of twice the tri-plane's channels,
weight for weight (trained weights load either way). It is its own type so that its place in the
cascade — which resolution it generates, from which — follows from the configured ``_target_``
instead of a flag beside it.
"""

from __future__ import annotations

from typing import Any

from rodin_pipelines.models.rollout_unet import RollOutUNet


class RollOutSuperResUNet(RollOutUNet):
    """Denoiser ``(B, 2C, R, 3R)`` (noisy map, then the upsampled low-resolution map) →
    ``(B, C_out, R, 3R)``.

    Args:
        in_channels: C, the tri-plane's channels (the network reads ``2C``).
        out_channels, resolution: as :class:`RollOutUNet` (``resolution``: the full one).
        low_resolution: the plane resolution of the map it upsamples (the base model's).
        **unet: the other :class:`RollOutUNet` arguments.
    """

    cascade_role = "upsampler"

    def __init__(self, in_channels: int, out_channels: int, resolution: int,
                 low_resolution: int, **unet: Any) -> None:
        super().__init__(2 * in_channels, out_channels, resolution, **unet)
        self.low_resolution = low_resolution

    @classmethod
    def cascade_sizes(cls, channels: int, latent_dim: int, low_resolution: int,
                      high_resolution: int) -> dict[str, int]:
        """The upsampler generates the full resolution from the base model's."""
        return {"in_channels": channels, "out_channels": channels,
                "resolution": high_resolution, "low_resolution": low_resolution,
                "latent_dim": latent_dim}


__all__ = ["RollOutSuperResUNet"]
