"""Where to look along each ray: stratified samples, then importance samples.

Distances ``t`` are measured from the ray origin along its unit direction, so a sample is at
``origin + t * direction`` and the spacing between samples is a world-space length.
"""

from __future__ import annotations

import torch
from torch import Tensor


def stratified_distances(
    near: Tensor, far: Tensor, count: int, generator: torch.Generator | None = None,
    jitter: bool = True,
) -> Tensor:
    """``count`` distances per ray ``(N, S)``, one in each equal bin of ``[near, far]``.

    With ``jitter`` the sample is uniform inside its bin (training: every depth gets seen);
    without it, at the bin centre (deterministic renders).
    """
    steps = torch.arange(count, dtype=near.dtype, device=near.device)
    if jitter:
        offsets = torch.rand(
            near.shape[0], count, generator=generator, dtype=near.dtype, device="cpu"
        ).to(near.device)
    else:
        offsets = torch.full((near.shape[0], count), 0.5, dtype=near.dtype, device=near.device)
    fraction = (steps + offsets) / count
    return near[:, None] + (far - near)[:, None] * fraction


def importance_distances(
    bin_edges: Tensor, weights: Tensor, count: int, generator: torch.Generator | None = None,
    jitter: bool = True,
) -> Tensor:
    """``count`` distances per ray ``(N, S_fine)`` drawn where ``weights`` put the opacity.

    Inverse-transform sampling of the piecewise-constant density over bins (NeRF's hierarchical
    sampling). ``bin_edges`` is ``(N, S + 1)``, ``weights`` ``(N, S)``; a small floor on the
    weights keeps rays that saw nothing sampling uniformly instead of dividing by zero.
    """
    weights = weights.detach() + 1e-5
    pdf = weights / weights.sum(dim=-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), pdf.cumsum(dim=-1)], dim=-1).clamp(max=1.0)
    if jitter:
        targets = torch.rand(
            weights.shape[0], count, generator=generator, dtype=weights.dtype, device="cpu"
        ).to(weights.device)
    else:
        targets = (torch.arange(count, dtype=weights.dtype, device=weights.device) + 0.5) / count
        targets = targets.expand(weights.shape[0], count).contiguous()
    upper = torch.searchsorted(cdf, targets, right=True).clamp(1, cdf.shape[-1] - 1)
    lower = upper - 1
    cdf_low, cdf_high = cdf.gather(-1, lower), cdf.gather(-1, upper)
    edge_low, edge_high = bin_edges.gather(-1, lower), bin_edges.gather(-1, upper)
    span = torch.where(cdf_high - cdf_low < 1e-8, torch.ones_like(cdf_low), cdf_high - cdf_low)
    return edge_low + (targets - cdf_low) / span * (edge_high - edge_low)


def bin_edges_from_distances(distances: Tensor, near: Tensor, far: Tensor) -> Tensor:
    """Edges ``(N, S + 1)`` of the bins around sorted samples: midpoints, closed by near and far."""
    middle = 0.5 * (distances[:, 1:] + distances[:, :-1])
    return torch.cat([near[:, None], middle, far[:, None]], dim=-1)
