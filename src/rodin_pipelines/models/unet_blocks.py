"""The U-Net's building blocks, in the style of guided-diffusion (ADM, Dhariwal & Nichol 2021),
on rolled-out tri-planes ``(B, C, R, 3R)`` (method §6).

The vocabulary is ADM's: a sinusoidal timestep embedding, blocks that take the embedding
(:class:`EmbeddedBlock`) and a container that passes it down (:class:`EmbeddedSequential`), a
:class:`ResBlock` with scale-shift normalisation (AdaGN), and an :class:`AttentionBlock`. What
differs: every spatial op pads and normalises each plane on its own (:mod:`.plane_ops`), a
ResBlock's second conv can be a 3D-aware conv (:mod:`.aware_conv`), and attention is the one
place that is deliberately global across the three planes.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from rodin_pipelines.models.aware_conv import AwareConv2d
from rodin_pipelines.models.plane_ops import PlaneConv2d, PlaneGroupNorm, zero_module


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps: ``(B,)`` → ``(B, dim)``.

    ``[cos(t·f_0), …, cos(t·f_{h-1}), sin(t·f_0), …, sin(t·f_{h-1})]`` with ``h = dim // 2`` and
    ``f_k = max_period^(-k/h)`` (a zero column is appended when ``dim`` is odd). Always float32:
    at ``t`` near 1000 the phases need more precision than bf16 has. Example: ``t = 0`` gives
    ``h`` ones then ``h`` zeros.
    """
    half = dim // 2
    frequencies = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    phases = t.float()[:, None] * frequencies[None, :]
    embedding = torch.cat([torch.cos(phases), torch.sin(phases)], dim=-1)
    if dim % 2:
        embedding = nn.functional.pad(embedding, (0, 1))
    return embedding


class EmbeddedBlock(nn.Module):
    """A block whose forward also takes the embedding ``(B, E)`` of timestep and condition."""

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class EmbeddedSequential(nn.Sequential):
    """``nn.Sequential`` that hands the embedding to the layers that take one."""

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, emb) if isinstance(layer, EmbeddedBlock) else layer(x)
        return x


def _maybe_checkpointed(module: nn.Module, function, *inputs: Tensor) -> Tensor:
    """``function(*inputs)``, recomputed in backward instead of stored when the module asks.

    Gradient checkpointing trades compute for memory (paper-scale U-Nets on one GPU); it only
    makes sense when a backward will follow.
    """
    if getattr(module, "use_checkpoint", False) and module.training and torch.is_grad_enabled():
        return checkpoint(function, *inputs, use_reentrant=False)
    return function(*inputs)


class ResBlock(EmbeddedBlock):
    """ADM residual block: ``(B, C_in, R, 3R)``, emb ``(B, E)`` → ``(B, C_out, R, 3R)``.

    ``h = conv1(SiLU(GN(x)))``; with scale-shift norm ``h = GN(h)·(1 + s) + b`` where ``(s, b)``
    is a linear map of the embedding (AdaGN), else ``h = GN(h + linear(emb))``; then
    ``conv2(dropout(SiLU(h)))`` is added to ``x`` (through a 1×1 conv when channels change).

    Args:
        channels: C_in.
        emb_channels: E, width of the timestep(+condition) embedding.
        out_channels: C_out (default C_in).
        dropout: dropout probability before the second conv.
        groups: GroupNorm groups (must divide C_in and C_out).
        scale_shift_norm: AdaGN (True, ADM's choice) or additive embedding.
        aware: make the second conv a 3D-aware conv (method §3; RodinHD puts it exactly there).
        zero_init: zero the second conv so the block starts as the identity (ADM, RodinHD).
        use_checkpoint: recompute activations in backward to save memory.
    """

    def __init__(self, channels: int, emb_channels: int, out_channels: int | None = None,
                 dropout: float = 0.0, groups: int = 32, scale_shift_norm: bool = True,
                 aware: bool = False, zero_init: bool = True, use_checkpoint: bool = False) -> None:
        super().__init__()
        out_channels = out_channels or channels
        self.scale_shift_norm = scale_shift_norm
        self.use_checkpoint = use_checkpoint
        self.in_layers = nn.Sequential(
            PlaneGroupNorm(groups, channels), nn.SiLU(), PlaneConv2d(channels, out_channels, 3))
        self.emb_layers = nn.Sequential(
            nn.SiLU(),
            nn.Linear(emb_channels, 2 * out_channels if scale_shift_norm else out_channels))
        self.out_norm = PlaneGroupNorm(groups, out_channels)
        if aware:
            last_conv: nn.Module = AwareConv2d(out_channels, out_channels, 3, zero_init=zero_init)
        else:
            last_conv = PlaneConv2d(out_channels, out_channels, 3)
            if zero_init:
                zero_module(last_conv)
        self.out_layers = nn.Sequential(nn.SiLU(), nn.Dropout(dropout), last_conv)
        self.skip = (nn.Identity() if out_channels == channels
                     else PlaneConv2d(channels, out_channels, 1))

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        return _maybe_checkpointed(self, self._forward, x, emb)

    def _forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.in_layers(x)
        emb_out = rearrange(self.emb_layers(emb), "b c -> b c 1 1")
        if self.scale_shift_norm:
            scale, shift = emb_out.chunk(2, dim=1)
            h = self.out_norm(h) * (1 + scale) + shift
        else:
            h = self.out_norm(h + emb_out)
        return self.skip(x) + self.out_layers(h)


class AttentionBlock(nn.Module):
    """Multi-head self-attention over every texel of the rolled-out map, ``(B, C, R, 3R)`` →
    same shape, residual.

    Intentionally global: any texel of any plane attends to all texels of all three planes, the
    U-Net's long-range cross-plane path at low resolution (ADM puts attention at 32, 16, 8).
    Uses ``scaled_dot_product_attention`` (fused kernels, bf16-safe softmax).

    Args:
        channels: C (divisible by ``num_heads`` and ``groups``).
        num_heads: attention heads; each has C / num_heads channels.
        groups: GroupNorm groups.
        use_checkpoint: recompute activations in backward to save memory.
    """

    def __init__(self, channels: int, num_heads: int = 1, groups: int = 32,
                 use_checkpoint: bool = False) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"{channels} channels do not split into {num_heads} heads")
        self.num_heads = num_heads
        self.use_checkpoint = use_checkpoint
        self.norm = PlaneGroupNorm(groups, channels)
        # 1×1 convs read no neighbours, so they need no per-plane folding.
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj_out = zero_module(nn.Conv2d(channels, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return _maybe_checkpointed(self, self._forward, x)

    def _forward(self, x: Tensor) -> Tensor:
        height = x.shape[-2]
        q, k, v = rearrange(self.qkv(self.norm(x)),
                            "b (three heads d) h w -> three b heads (h w) d",
                            three=3, heads=self.num_heads)
        # Contiguous heads: the fused (flash) kernels, on CPU and CUDA, need the head dim at
        # stride 1; without it SDPA falls back to the unfused math path (2x slower fwd + bwd at
        # 192 tokens on 2 cores).
        attended = nn.functional.scaled_dot_product_attention(
            q.contiguous(), k.contiguous(), v.contiguous())
        attended = rearrange(attended, "b heads (h w) d -> b (heads d) h w", h=height)
        return x + self.proj_out(attended)


__all__ = [
    "AttentionBlock", "EmbeddedBlock", "EmbeddedSequential", "ResBlock", "timestep_embedding",
]
