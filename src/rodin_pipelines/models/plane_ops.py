"""2D operations applied to each plane of a rolled-out tri-plane on its own (method §3).

A rolled-out map ``(B, C, R, 3R)`` holds planes XY, XZ, YZ side by side along the width
(:mod:`rodin_pipelines.triplane.layout`). A plain 3×3 convolution on it would mix texels of two
unrelated planes at the borders (column ``R - 1`` of XY next to column 0 of XZ), and a
convolution's zero padding would only pad the outer edges. Every spatial operation of the U-Net
therefore goes through this module: the map is folded into a batch of planes ``(B·3, C, R, R)``,
the operation runs there with its own zero padding per plane, and the result is rolled back out.
Information crosses planes only through the deliberate paths: 3D-aware convolution
(:mod:`.aware_conv`) and global attention (:class:`.unet_blocks.AttentionBlock`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from einops import rearrange
from torch import Tensor, nn

from rodin_pipelines.triplane.layout import PLANE_COUNT
from rodin_pipelines.triplane.rescale import resize_planes


def _is_channels_last(x: Tensor) -> bool:
    """Stored channels-last (and not also plain-contiguous, as when C = 1 or R = 1)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def planes_from_rolled(rolled: Tensor) -> Tensor:
    """``(B, C, R, 3R)`` → ``(B·3, C, R, R)``: each plane becomes its own batch element.

    Keeps the memory format: a channels-last map is folded in its own (B, R, 3R, C) order, so the
    planes come out channels-last in one copy and cuDNN's NHWC kernels need no conversion.
    """
    if rolled.shape[-1] != PLANE_COUNT * rolled.shape[-2]:
        raise ValueError(f"a rolled-out map is (B, C, R, 3R), got {tuple(rolled.shape)}")
    if _is_channels_last(rolled):
        nhwc = rearrange(rolled, "b c h w -> b h w c")  # a view: this is the storage order
        planes = rearrange(nhwc, "b h (p w) c -> (b p) h w c", p=PLANE_COUNT)
        return rearrange(planes, "n h w c -> n c h w")  # a view, channels-last strides
    return rearrange(rolled, "b c h (p w) -> (b p) c h w", p=PLANE_COUNT)


def rolled_from_planes(planes: Tensor) -> Tensor:
    """``(B·3, C, R, R)`` → ``(B, C, R, 3R)``: the inverse of :func:`planes_from_rolled`,
    keeping the memory format likewise."""
    if _is_channels_last(planes):
        nhwc = rearrange(planes, "n c h w -> n h w c")
        rolled = rearrange(nhwc, "(b p) h w c -> b h (p w) c", p=PLANE_COUNT)
        return rearrange(rolled, "b h w c -> b c h w")
    return rearrange(planes, "(b p) c h w -> b c h (p w)", p=PLANE_COUNT)


def per_plane(fn: Callable[[Tensor], Tensor], rolled: Tensor) -> Tensor:
    """Apply a 2D op ``fn`` to each plane of ``rolled`` ``(B, C, R, 3R)`` on its own.

    ``fn`` sees ``(B·3, C, R, R)`` and may change channels and resolution; the result is rolled
    back out to ``(B, C', R', 3R')``. Because each plane is a separate batch element, padding,
    pooling and resizing never read a neighbouring plane.
    """
    return rolled_from_planes(fn(planes_from_rolled(rolled)))


class PlaneConv2d(nn.Conv2d):
    """A ``Conv2d`` run on each plane of a rolled-out map separately, zero-padded per plane.

    ``(B, C_in, R, 3R)`` → ``(B, C_out, R / stride, 3R / stride)``. Same arguments as
    ``nn.Conv2d``; ``padding`` defaults to ``kernel_size // 2`` (shape-preserving at stride 1).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int | None = None, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=kernel_size // 2 if padding is None else padding, bias=bias)

    def forward(self, rolled: Tensor) -> Tensor:
        if self.kernel_size == (1, 1) and self.stride == (1, 1) and self.padding == (0, 0):
            # A 1×1 conv reads no neighbours, so it needs no folding (saves two copies).
            return super().forward(rolled)
        return per_plane(super().forward, rolled)


class PlaneGroupNorm(nn.GroupNorm):
    """``GroupNorm`` with statistics computed per plane, ``(B, C, R, 3R)`` → same shape.

    Why per plane: a norm over the whole rolled-out map would let every plane's statistics shift
    the other planes' activations, a cross-plane path nobody asked for. Per plane, the U-Net's
    planes interact only through 3D-aware convolution and attention, so switching those off (the
    ablation) leaves three truly independent 2D networks. The three planes also carry differently
    distributed features (they see the avatar from three sides), so separate statistics fit them.
    No float32 cast by hand (guided-diffusion's ``GroupNorm32``): CUDA autocast already runs
    ``group_norm`` in float32, and a cast here would break float64 and pure-bf16 models.
    """

    def forward(self, rolled: Tensor) -> Tensor:
        return per_plane(super().forward, rolled)


class PlaneDownsample(nn.Module):
    """Halve each plane's resolution: ``(B, C, R, 3R)`` → ``(B, C_out, R/2, 3R/2)``.

    With ``use_conv`` a stride-2 3×3 conv (learned, as guided-diffusion's default), else a 2×2
    average pool (then ``out_channels`` must equal ``channels``).
    """

    def __init__(self, channels: int, use_conv: bool = True,
                 out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = out_channels or channels
        if use_conv:
            self.op: nn.Module = PlaneConv2d(channels, out_channels, 3, stride=2)
        elif out_channels == channels:
            self.op = nn.AvgPool2d(kernel_size=2, stride=2)
        else:
            raise ValueError("average-pool downsampling cannot change the channel count")

    def forward(self, rolled: Tensor) -> Tensor:
        if rolled.shape[-2] % 2:
            raise ValueError(f"cannot halve an odd plane resolution {rolled.shape[-2]}")
        # The conv folds planes itself; a 2×2 pool on an even resolution never straddles a
        # plane border (borders sit at multiples of R), so it runs on the rolled map directly.
        return self.op(rolled)


class PlaneUpsample(nn.Module):
    """Double each plane's resolution: ``(B, C, R, 3R)`` → ``(B, C_out, 2R, 6R)``.

    Nearest-neighbour ×2 (which copies texels within their own plane), then, with ``use_conv``,
    a 3×3 conv padded per plane to smooth the blockiness.
    """

    def __init__(self, channels: int, use_conv: bool = True,
                 out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = out_channels or channels
        if not use_conv and out_channels != channels:
            raise ValueError("upsampling without a conv cannot change the channel count")
        self.conv = PlaneConv2d(channels, out_channels, 3) if use_conv else None

    def forward(self, rolled: Tensor) -> Tensor:
        rolled = nn.functional.interpolate(rolled, scale_factor=2.0, mode="nearest")
        return self.conv(rolled) if self.conv is not None else rolled


def upsample_rolled_out(rolled: Tensor, resolution: int) -> Tensor:
    """Bilinear resize of each plane to ``resolution``: ``(B, C, R, 3R)`` → ``(B, C, R', 3R')``.

    What the upsampler diffusion is conditioned on (method §5): the low-resolution tri-plane
    brought to the high resolution. Per plane, so bilinear taps at a border never blend two
    planes; ``align_corners=False`` as everywhere in the tri-plane code.
    """
    return per_plane(lambda planes: resize_planes(planes, resolution, "bilinear"), rolled)


def zero_module(module: nn.Module) -> nn.Module:
    """``module`` with every parameter set to zero, returned for chaining.

    Zero-initialising the last layer of a residual branch makes the block start as the identity,
    which is what lets deep diffusion U-Nets train stably (guided-diffusion, RodinHD).
    """
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.zero_()
    return module


__all__ = [
    "PlaneConv2d", "PlaneDownsample", "PlaneGroupNorm", "PlaneUpsample", "per_plane",
    "planes_from_rolled", "rolled_from_planes", "upsample_rolled_out", "zero_module",
]
