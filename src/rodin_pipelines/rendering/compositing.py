"""THE volume rendering quadrature: how samples along a ray compose into a pixel.

For samples with densities ``sigma_i`` over intervals of length ``delta_i`` (Max 1995, NeRF):

    alpha_i = 1 - exp(-sigma_i * delta_i)
    T_i     = prod_{j < i} (1 - alpha_j)        (transmittance up to sample i)
    w_i     = T_i * alpha_i                      (sum_i w_i = 1 - T_S <= 1)
    C       = sum_i w_i c_i + (1 - sum_i w_i) * background

Example: sigma = [1, 1], delta = [ln 2, ln 2] gives alpha = [0.5, 0.5], w = [0.5, 0.25].
"""

from __future__ import annotations

import torch
from torch import Tensor


def weights_from_density(density: Tensor, deltas: Tensor) -> Tensor:
    """Compositing weights ``(N, S)`` from densities and interval lengths (both ``(N, S)``)."""
    optical_depth = density * deltas
    alpha = 1.0 - torch.exp(-optical_depth)
    # Exclusive cumulative sum: the transmittance in front of sample i excludes sample i.
    accumulated = torch.cumsum(optical_depth, dim=-1)
    transmittance = torch.exp(-torch.cat([torch.zeros_like(accumulated[:, :1]),
                                          accumulated[:, :-1]], dim=-1))
    return transmittance * alpha


def deltas_from_distances(distances: Tensor, far: Tensor) -> Tensor:
    """Interval lengths ``(N, S)`` behind each sorted sample; the last one runs to ``far``."""
    gaps = distances[:, 1:] - distances[:, :-1]
    last = (far[:, None] - distances[:, -1:]).clamp_min(0.0)
    return torch.cat([gaps, last], dim=-1)


def composite(weights: Tensor, colours: Tensor) -> tuple[Tensor, Tensor]:
    """Premultiplied colour ``(N, 3)`` and opacity ``(N,)`` from weights ``(N, S)`` and colours
    ``(N, S, 3)``."""
    colour = torch.einsum("ns,nsc->nc", weights, colours)
    return colour, weights.sum(dim=-1)


def over_background(premultiplied: Tensor, opacity: Tensor, background: Tensor) -> Tensor:
    """Composite premultiplied colour ``(..., 3)`` with opacity ``(...)`` over a background colour."""
    return premultiplied + (1.0 - opacity)[..., None] * background


def straight_rgba_over(rgba: Tensor, background: Tensor) -> Tensor:
    """Straight (PNG-style) RGBA ``(..., 4)`` over a background ``(..., 3)`` → RGB ``(..., 3)``."""
    alpha = rgba[..., 3:]
    return rgba[..., :3] * alpha + background * (1.0 - alpha)


def straight_rgba(premultiplied: Tensor, opacity: Tensor) -> Tensor:
    """Straight (not premultiplied) RGBA ``(..., 4)``, as PNG files store it."""
    colour = premultiplied / opacity.clamp_min(1e-6)[..., None]
    return torch.cat([colour.clamp(0.0, 1.0), opacity[..., None].clamp(0.0, 1.0)], dim=-1)
