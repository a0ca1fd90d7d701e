"""The roll-out U-Net: RODIN's denoiser on rolled-out tri-planes (method §3, §4, §6).

guided-diffusion's U-Net (ADM) on the map ``(B, C, R, 3R)``, with every conv and norm applied per
plane (:mod:`.plane_ops`), 3D-aware convolution in the residual blocks of chosen levels
(:mod:`.aware_conv`), global attention at chosen resolutions, and latent conditioning: a small
trainable head maps the frozen CLIP image embedding e of the avatar's frontal view to a vector
added to the timestep embedding, which every ResBlock feeds to its scale-shift norm (AdaGN).
Rows whose condition is dropped use a learned null embedding instead, which is how
classifier-free guidance trains the unconditional model inside the conditional one.

The upsampler (method §5) is the subclass :class:`.rollout_super_res_unet.RollOutSuperResUNet`,
which reads the noisy high-resolution map concatenated with the low-resolution one brought up by
:func:`.plane_ops.upsample_rolled_out`, as ADM's ``SuperResModel`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rodin_pipelines.models.plane_ops import (PlaneConv2d, PlaneDownsample, PlaneGroupNorm,
                                              PlaneUpsample, zero_module)
from rodin_pipelines.models.unet_blocks import (AttentionBlock, EmbeddedSequential, ResBlock,
                                                timestep_embedding)
from rodin_pipelines.triplane.layout import PLANE_COUNT


class RollOutUNet(nn.Module):
    """Denoiser ``(B, C_in, R, 3R)``, t ``(B,)``, e ``(B, D)`` → ``(B, C_out, R, 3R)``.

    Level ``l`` works at plane resolution ``R / 2^l`` with ``model_channels · channel_mult[l]``
    channels; the middle block belongs to the last level.

    Args:
        in_channels: C_in (C for the base model; the upsampler's subclass asks for 2C).
        out_channels: C_out (C: noise or clean tri-plane, whatever the parameterisation says).
        resolution: R, the plane resolution of the input (fixes where attention goes).
        model_channels: channels of level 0.
        channel_mult: per-level channel multipliers; its length is the number of levels.
        num_res_blocks: ResBlocks per level on the way down (one more on the way up, as ADM).
        attention_resolutions: plane resolutions whose blocks get self-attention (the middle
            block too when the last level's resolution is listed). Resolutions no level has are
            ignored, so one list serves several profiles.
        aware_levels: indices of the levels whose ResBlocks use 3D-aware convolution as their
            second conv (middle block: the last level). ``()`` switches it off (the ablation);
            RodinHD uses ``(0,)`` for the base and all levels for the upsampler.
        dropout: dropout probability inside the ResBlocks.
        num_heads: attention heads.
        latent_dim: D, size of the CLIP image embedding e; 0 builds an unconditional model.
        norm_groups: GroupNorm groups (must divide ``model_channels``).
        scale_shift_norm: AdaGN in the ResBlocks (ADM's choice) instead of additive embedding.
        resample_with_conv: learned (conv) down/upsampling instead of average pool/nearest.
        time_embed_mult: width of the timestep embedding in units of ``model_channels``.
        latent_map_channels: K > 0 also gives e to the network *spatially*: a linear map of the
            standardised e to K channels at every texel of the rolled-out input ``(B, K, R, 3R)``,
            concatenated to ``x`` before the first conv (a learned null map on dropped rows).
            AdaGN's vector modulates whole channels, so a detail at one place (glasses over the
            eyes) had to be drawn from position cues the noise hides; the map lets e say where.
            0 (the default) is the plain ADM conditioning.
        gradient_checkpointing: recompute block activations in backward to save memory.
    """

    cascade_role = "base"
    """Which model of the cascade this network is (names its logs and progress galleries)."""

    def __init__(self, in_channels: int, out_channels: int, resolution: int,
                 model_channels: int = 32, channel_mult: Sequence[int] = (1, 2, 2),
                 num_res_blocks: int = 2, attention_resolutions: Sequence[int] = (),
                 aware_levels: Sequence[int] = (0,), dropout: float = 0.0, num_heads: int = 4,
                 latent_dim: int = 0, norm_groups: int = 32, scale_shift_norm: bool = True,
                 resample_with_conv: bool = True, time_embed_mult: int = 4,
                 latent_map_channels: int = 0, gradient_checkpointing: bool = False) -> None:
        super().__init__()
        levels = len(channel_mult)
        if resolution % 2 ** (levels - 1):
            raise ValueError(f"R = {resolution} cannot be halved {levels - 1} times")
        if model_channels % norm_groups:
            raise ValueError(f"{norm_groups} GroupNorm groups do not divide {model_channels}")
        if any(not 0 <= level < levels for level in aware_levels):
            raise ValueError(f"aware_levels {tuple(aware_levels)} outside levels 0..{levels - 1}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.resolution = resolution
        self.model_channels = model_channels
        self.latent_dim = latent_dim
        self.aware_levels = tuple(sorted(set(aware_levels)))
        self.attention_levels = tuple(level for level in range(levels)
                                      if resolution // 2 ** level in attention_resolutions)

        emb_channels = time_embed_mult * model_channels
        self.time_embed = nn.Sequential(nn.Linear(model_channels, emb_channels), nn.SiLU(),
                                        nn.Linear(emb_channels, emb_channels))
        if latent_dim > 0:
            # Method §4 [ours]: a small head trained jointly with the diffusion model maps e into
            # the embedding space; the null embedding stands in for a dropped condition (CFG).
            self.latent_head: nn.Module | None = nn.Sequential(
                nn.Linear(latent_dim, emb_channels), nn.SiLU(),
                nn.Linear(emb_channels, emb_channels))
            # Zero: "no condition" starts as adding nothing; it is trained on the dropped rows.
            self.null_latent = nn.Parameter(torch.zeros(emb_channels))
            # e is standardised per dimension before the head (as the prior does): unit CLIP
            # vectors spread ~1/sqrt(D) per dimension around a large shared mean, so the raw
            # avatar-specific part reached the time embedding ~10x weaker than the timestep.
            # Buffers, so the training set's statistics travel with the weights.
            self.register_buffer("latent_mean", torch.zeros(latent_dim))
            self.register_buffer("latent_std", torch.ones(latent_dim))
        else:
            self.latent_head, self.null_latent = None, None
        if latent_map_channels < 0 or (latent_map_channels and not latent_dim):
            raise ValueError(f"latent_map_channels {latent_map_channels} needs a latent "
                             f"(latent_dim {latent_dim} > 0) and must not be negative")
        self.latent_map_channels = latent_map_channels
        if latent_map_channels:
            map_shape = (latent_map_channels, resolution, PLANE_COUNT * resolution)
            # Zero weights: the untrained network reads the map as a learned per-texel bias only
            # (a positional code), and e's part grows from there.
            self.latent_map = zero_module(nn.Linear(latent_dim, math.prod(map_shape)))
            self.null_latent_map = nn.Parameter(torch.zeros(map_shape))

        def res_block(channels: int, out: int, level: int) -> ResBlock:
            return ResBlock(channels, emb_channels, out, dropout=dropout, groups=norm_groups,
                            scale_shift_norm=scale_shift_norm, aware=level in self.aware_levels,
                            use_checkpoint=gradient_checkpointing)

        def attention(channels: int) -> AttentionBlock:
            return AttentionBlock(channels, num_heads, norm_groups, gradient_checkpointing)

        channels = model_channels
        self.input_blocks = nn.ModuleList(
            [EmbeddedSequential(PlaneConv2d(in_channels + latent_map_channels, channels, 3))])
        skip_channels = [channels]
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [res_block(channels, mult * model_channels, level)]
                channels = mult * model_channels
                if level in self.attention_levels:
                    layers.append(attention(channels))
                self.input_blocks.append(EmbeddedSequential(*layers))
                skip_channels.append(channels)
            if level != levels - 1:
                self.input_blocks.append(
                    EmbeddedSequential(PlaneDownsample(channels, resample_with_conv)))
                skip_channels.append(channels)

        last = levels - 1
        self.middle_block = EmbeddedSequential(
            res_block(channels, channels, last),
            *([attention(channels)] if last in self.attention_levels else []),
            res_block(channels, channels, last))

        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for block in range(num_res_blocks + 1):
                layers = [res_block(channels + skip_channels.pop(), mult * model_channels, level)]
                channels = mult * model_channels
                if level in self.attention_levels:
                    layers.append(attention(channels))
                if level > 0 and block == num_res_blocks:
                    layers.append(PlaneUpsample(channels, resample_with_conv))
                self.output_blocks.append(EmbeddedSequential(*layers))

        # Zero-initialised last conv: the untrained network predicts 0 (ADM).
        self.out = nn.Sequential(PlaneGroupNorm(norm_groups, channels), nn.SiLU(),
                                 zero_module(PlaneConv2d(channels, out_channels, 3)))

    @classmethod
    def cascade_sizes(cls, channels: int, latent_dim: int, low_resolution: int,
                      high_resolution: int) -> dict[str, int]:
        """The constructor's sizes that come from the data, in a cascade generating C-channel
        tri-planes at ``low_resolution`` and upsampling them to ``high_resolution`` (the fitted
        one) given D-sized latents: the base model generates the low resolution."""
        return {"in_channels": channels, "out_channels": channels, "resolution": low_resolution,
                "latent_dim": latent_dim}

    def condition_embedding(self, batch: int, latent: Tensor | None,
                            latent_keep: Tensor | None) -> Tensor:
        """The vector ``(B, E)`` added to the timestep embedding for the latent condition.

        ``head(e)`` on rows where ``latent_keep`` is True (all rows when it is None), the learned
        null embedding on the others and on every row when ``latent`` is None.
        """
        if self.latent_head is None:
            if latent is not None:
                raise ValueError("this U-Net is unconditional (latent_dim = 0) but got a latent")
            raise RuntimeError("condition_embedding called on an unconditional U-Net")
        null = self.null_latent.expand(batch, -1)
        if latent is None:
            return null
        if latent.shape != (batch, self.latent_dim):
            raise ValueError(f"latent must be ({batch}, {self.latent_dim}), got "
                             f"{tuple(latent.shape)}")
        return _null_where_dropped(self.latent_head(self._standardised(latent)), null, latent_keep)

    def _standardised(self, latent: Tensor) -> Tensor:
        mean, std = self.latent_mean.to(latent.dtype), self.latent_std.to(latent.dtype)
        return (latent - mean) / std

    def condition_map(self, batch: int, latent: Tensor | None,
                      latent_keep: Tensor | None) -> Tensor:
        """The spatial condition ``(B, K, R, 3R)`` concatenated to the input: the linear map of
        the standardised e on kept rows, the learned null map on dropped rows (and on all rows
        when ``latent`` is None)."""
        null = self.null_latent_map.expand(batch, -1, -1, -1)
        if latent is None:
            return null
        mapped = self.latent_map(self._standardised(latent)).reshape(null.shape)
        return _null_where_dropped(mapped, null, latent_keep)

    @torch.no_grad()
    def set_latent_statistics(self, mean: Tensor, std: Tensor) -> None:
        """Standardise e with the training set's per-dimension ``mean`` and ``std`` ``(D,)``
        (:func:`~rodin_pipelines.diffusion.embedding_prior_sampling.embedding_statistics`)."""
        if self.latent_head is None:
            raise RuntimeError("an unconditional U-Net has no latent to standardise")
        if mean.shape != (self.latent_dim,) or std.shape != (self.latent_dim,):
            raise ValueError(f"latent statistics must be ({self.latent_dim},), got "
                             f"{tuple(mean.shape)} and {tuple(std.shape)}")
        self.latent_mean.copy_(mean)
        self.latent_std.copy_(std)

    def extra_embedding(self, batch: int, **conditions: Tensor) -> Tensor | None:
        """A vector ``(B, E)`` more for the timestep embedding, from conditions a subclass reads
        (the upsampler's ``context_level``); the plain U-Net reads none."""
        if conditions:
            raise ValueError(f"{type(self).__name__} takes no {sorted(conditions)}")
        return None

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None, **conditions: Tensor) -> Tensor:
        """Denoise ``x`` ``(B, C_in, R, 3R)`` at timesteps ``t`` ``(B,)`` (float, e.g. in
        [0, 1000)) given CLIP embeddings ``latent`` ``(B, D)`` (None: unconditional), of which
        only rows with ``latent_keep`` ``(B,)`` True are used, and any ``conditions`` the
        network reads (:meth:`extra_embedding`). Returns ``(B, C_out, R, 3R)``."""
        batch = x.shape[0]
        expected = (self.in_channels, self.resolution, PLANE_COUNT * self.resolution)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"x must be (B, {expected[0]}, R, 3R) = (B, {expected[0]}, "
                             f"{expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        sinusoids = timestep_embedding(t.expand(batch), self.model_channels)
        # float32 sinusoids into the parameters' dtype (float64 in tests; autocast casts itself).
        emb = self.time_embed(sinusoids.to(self.time_embed[0].weight.dtype))
        if self.latent_head is not None:
            emb = emb + self.condition_embedding(batch, latent, latent_keep)
        elif latent is not None:
            raise ValueError("this U-Net is unconditional (latent_dim = 0) but got a latent")
        extra = self.extra_embedding(batch, **conditions)
        if extra is not None:
            emb = emb + extra

        h = x
        if self.latent_map_channels:
            # Shapes were checked by condition_embedding above.
            h = torch.cat([x, self.condition_map(batch, latent, latent_keep).to(x.dtype)], dim=1)
        skips = []
        for block in self.input_blocks:
            h = block(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)


def _null_where_dropped(conditioned: Tensor, null: Tensor, keep: Tensor | None) -> Tensor:
    """``conditioned`` ``(B, ...)`` with the rows whose ``keep`` ``(B,)`` is False replaced by
    ``null`` (same shape); all rows kept when ``keep`` is None."""
    if keep is None:
        return conditioned
    row_mask = keep.reshape(-1, *[1] * (conditioned.dim() - 1))
    return torch.where(row_mask, conditioned, null.to(conditioned.dtype))


RolloutUNet = RollOutUNet
"""Alias in style.md's spelling."""

__all__ = ["RollOutUNet", "RolloutUNet"]
