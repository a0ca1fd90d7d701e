"""The upsampler's network (method §5): the roll-out U-Net reading the noisy full-resolution map
and the low-resolution map brought up to it, as guided-diffusion's ``SuperResModel`` subclasses
its ``UNetModel``.

The caller upsamples the low-resolution map per plane
(:func:`~rodin_pipelines.diffusion.conditioning_augmentation.upsampler_context`) and the denoiser
concatenates it as context, so the network itself is the U-Net of twice the tri-plane's channels,
weight for weight (trained weights load either way). It is its own type so that its place in the
cascade — which resolution it generates, from which — follows from the configured ``_target_``
instead of a flag beside it.

With ``context_noise_conditioned`` it also reads the level of the conditioning augmentation's
noise on its input (Cascaded Diffusion Models' noise-conditioning augmentation): the level's
sinusoidal embedding, through its own MLP, joins the timestep embedding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rodin_pipelines.models.plane_ops import zero_module
from rodin_pipelines.models.rollout_unet import RollOutUNet
from rodin_pipelines.models.unet_blocks import timestep_embedding

CONTEXT_LEVEL_SCALE = 1000.0
"""A noise level in [0, 1] is embedded as a timestep of the 1000-step schedule would be."""


class RollOutSuperResUNet(RollOutUNet):
    """Denoiser ``(B, 2C, R, 3R)`` (noisy map, then the upsampled low-resolution map) →
    ``(B, C_out, R, 3R)``.

    Args:
        in_channels: C, the tri-plane's channels (the network reads ``2C``).
        out_channels, resolution: as :class:`RollOutUNet` (``resolution``: the full one).
        low_resolution: the plane resolution of the map it upsamples (the base model's).
        context_noise_conditioned: read ``context_level`` ``(B,)`` in [0, 1], the level of the
            noise on the low-resolution input (0 when not given).
        **unet: the other :class:`RollOutUNet` arguments.
    """

    cascade_role = "upsampler"

    def __init__(self, in_channels: int, out_channels: int, resolution: int,
                 low_resolution: int, context_noise_conditioned: bool = False,
                 **unet: Any) -> None:
        super().__init__(2 * in_channels, out_channels, resolution, **unet)
        self.low_resolution = low_resolution
        self.context_noise_conditioned = context_noise_conditioned
        if context_noise_conditioned:
            emb_channels = self.time_embed[-1].out_features
            # Zero last layer: untrained, the level changes nothing (as if unconditioned).
            self.context_level_embed = nn.Sequential(
                nn.Linear(self.model_channels, emb_channels), nn.SiLU(),
                zero_module(nn.Linear(emb_channels, emb_channels)))

    def extra_embedding(self, batch: int, context_level: Tensor | None = None,
                        **conditions: Tensor) -> Tensor | None:
        """The embedding ``(B, E)`` of the input's noise level ``(B,)`` (None: level 0)."""
        super().extra_embedding(batch, **conditions)
        if not self.context_noise_conditioned:
            if context_level is not None:
                raise ValueError("this upsampler was built without context_noise_conditioned "
                                 "but was given a context_level")
            return None
        weight = self.context_level_embed[0].weight
        if context_level is None:
            context_level = torch.zeros(batch, device=weight.device)
        if context_level.shape != (batch,):
            raise ValueError(f"context_level must be ({batch},), got "
                             f"{tuple(context_level.shape)}")
        sinusoids = timestep_embedding(context_level * CONTEXT_LEVEL_SCALE, self.model_channels)
        return self.context_level_embed(sinusoids.to(weight.dtype))

    @classmethod
    def cascade_sizes(cls, channels: int, latent_dim: int, low_resolution: int,
                      high_resolution: int) -> dict[str, int]:
        """The upsampler generates the full resolution from the base model's."""
        return {"in_channels": channels, "out_channels": channels,
                "resolution": high_resolution, "low_resolution": low_resolution,
                "latent_dim": latent_dim}


__all__ = ["RollOutSuperResUNet"]
