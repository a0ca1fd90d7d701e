"""THE volume renderer: rays → box clipping → stratified + importance samples → compositing.

The same path renders the procedural ground truth, fitted tri-planes, evaluation images,
turntables and (later) the upsampler's rendering loss. It is written against a *field*: any
callable mapping points ``(P, 3)`` to ``(density (P,), colour (P, 3))``, so what is at a point
(a baked scene, a tri-plane + decoder) is separate from where to look and how to compose.

Two optional accelerations for fields whose empty space is known: ``box`` clips rays to the part
of the cube that holds the field, and ``occupancy`` (an :class:`OccupancyGrid`) sends only the
samples in occupied cells to the field, counting the others as empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import SCENE_BOUND, Cameras
from rodin_pipelines.rendering.occupancy_grid import OccupancyGrid
from rodin_pipelines.rendering.compositing import (
    composite,
    deltas_from_distances,
    weights_from_density,
)
from rodin_pipelines.rendering.ray_box import near_far_from_box
from rodin_pipelines.rendering.ray_samplers import (
    bin_edges_from_distances,
    importance_distances,
    stratified_distances,
)
from rodin_pipelines.rendering.rays import Rays, rays_from_cameras

RadianceField = Callable[[Tensor], tuple[Tensor, Tensor]]
"""points ``(P, 3)`` → density ``(P,)`` (≥ 0, per unit length) and colour ``(P, 3)`` in [0, 1]."""


@dataclass(frozen=True)
class VolumeRenderSettings:
    """How densely rays are sampled.

    Attributes:
        coarse_samples: stratified samples per ray over the clipped segment.
        fine_samples: extra samples per ray drawn from the coarse weights (0 disables).
        jitter: random positions inside bins (training) or bin centres (deterministic renders).
        chunk_rays: rays evaluated at once, to bound memory.
        half_extent: half side of the scene cube rays are clipped to.
        empty_opacity: rays whose coarse pass gathers less opacity than this are dropped after it
            (rendered empty, no fine pass). Speeds up renders of known fields; keep 0 when
            training, where an empty-looking ray must still pass gradients.
    """

    coarse_samples: int = 32
    fine_samples: int = 32
    jitter: bool = False
    chunk_rays: int = 8192
    half_extent: float = SCENE_BOUND
    empty_opacity: float = 0.0


@dataclass(frozen=True)
class RenderedRays:
    """Per-ray results: premultiplied ``colour`` ``(N, 3)``, ``opacity`` ``(N,)``, ``depth``
    ``(N,)`` (expected distance of the opaque part, 0 where empty)."""

    colour: Tensor
    opacity: Tensor
    depth: Tensor


def render_rays(
    field: RadianceField,
    rays: Rays,
    settings: VolumeRenderSettings,
    generator: torch.Generator | None = None,
    box: tuple[Tensor, Tensor] | None = None,
    occupancy: OccupancyGrid | None = None,
) -> RenderedRays:
    """Render ``N`` rays through ``field`` in chunks of ``settings.chunk_rays``.

    ``box`` (lower and upper corners, ``(3,)`` each) narrows the scene cube to where the field is
    known to be non-empty: rays missing it cost nothing and samples concentrate inside it.
    ``occupancy`` leaves sample positions unchanged but queries the field only at samples in
    occupied cells; the others get density 0. ``None`` queries every sample. Gradients flow to
    the field through the queried samples.
    """
    parts = [
        _render_chunk(field, rays[start : start + settings.chunk_rays], settings, generator, box,
                      occupancy)
        for start in range(0, len(rays), settings.chunk_rays)
    ]
    return RenderedRays(
        torch.cat([part.colour for part in parts]),
        torch.cat([part.opacity for part in parts]),
        torch.cat([part.depth for part in parts]),
    )


def render_cameras(
    field: RadianceField,
    cameras: Cameras,
    settings: VolumeRenderSettings,
    box: tuple[Tensor, Tensor] | None = None,
    occupancy: OccupancyGrid | None = None,
) -> tuple[Tensor, Tensor]:
    """Render every pixel of every camera (``box`` and ``occupancy`` as in :func:`render_rays`).

    Returns premultiplied colour ``(B, H, W, 3)`` and opacity ``(B, H, W)``.
    """
    rendered = render_rays(field, rays_from_cameras(cameras), settings, box=box,
                           occupancy=occupancy)
    shape = (len(cameras), cameras.height, cameras.width)
    return rendered.colour.reshape(*shape, 3), rendered.opacity.reshape(shape)


def _render_chunk(
    field: RadianceField,
    rays: Rays,
    settings: VolumeRenderSettings,
    generator: torch.Generator | None,
    box: tuple[Tensor, Tensor] | None,
    occupancy: OccupancyGrid | None,
) -> RenderedRays:
    near, far, hit = near_far_from_box(rays, settings.half_extent, box)
    count = len(rays)
    colour = rays.origins.new_zeros(count, 3)
    opacity = rays.origins.new_zeros(count)
    depth = rays.origins.new_zeros(count)
    if not bool(hit.any()):
        return RenderedRays(colour, opacity, depth)
    # Only rays that cross the cube are sampled: empty space outside it costs nothing.
    rays_in, near, far = rays[hit], near[hit], far[hit]
    distances = stratified_distances(
        near, far, settings.coarse_samples, generator, jitter=settings.jitter
    )
    if settings.fine_samples > 0:
        with torch.no_grad():
            coarse_density, _ = _query(field, rays_in, distances, occupancy)
            coarse_weights = weights_from_density(
                coarse_density, deltas_from_distances(distances, far)
            )
        occupied = coarse_weights.sum(dim=-1) >= settings.empty_opacity
        if not bool(occupied.all()):
            # Rays through empty space keep their coarse samples only; the rest are refined.
            hit_index = hit.nonzero().squeeze(-1)
            hit = torch.zeros_like(hit).index_fill(0, hit_index[occupied], True)
            rays_in, near, far = rays_in[occupied], near[occupied], far[occupied]
            distances, coarse_weights = distances[occupied], coarse_weights[occupied]
        edges = bin_edges_from_distances(distances, near, far)
        fine = importance_distances(
            edges, coarse_weights, settings.fine_samples, generator, jitter=settings.jitter
        )
        distances, _ = torch.sort(torch.cat([distances, fine], dim=-1), dim=-1)
    density, colours = _query(field, rays_in, distances, occupancy)
    weights = weights_from_density(density, deltas_from_distances(distances, far))
    hit_colour, hit_opacity = composite(weights, colours)
    hit_depth = (weights * distances).sum(dim=-1)
    colour = colour.index_put((hit,), hit_colour)
    opacity = opacity.index_put((hit,), hit_opacity)
    depth = depth.index_put((hit,), hit_depth)
    return RenderedRays(colour, opacity, depth)


def _query(
    field: RadianceField, rays: Rays, distances: Tensor, occupancy: OccupancyGrid | None = None
) -> tuple[Tensor, Tensor]:
    """Field values at ``origin + t * direction`` for distances ``(N, S)``."""
    points = rays.origins[:, None, :] + distances[..., None] * rays.directions[:, None, :]
    points = points.reshape(-1, 3)
    if occupancy is None:
        density, colour = field(points)
    else:
        density, colour = _query_occupied(field, points, occupancy.is_occupied(points))
    count, samples = distances.shape
    return density.reshape(count, samples), colour.reshape(count, samples, 3)


def _query_occupied(
    field: RadianceField, points: Tensor, occupied: Tensor
) -> tuple[Tensor, Tensor]:
    """Field values ``(P,)``, ``(P, 3)`` at the ``occupied`` points; density 0 (and colour 0,
    which then carries no weight) elsewhere. Gather, query, scatter: the out-of-place
    ``index_put`` keeps the queried values in the autograd graph."""
    index = occupied.nonzero().squeeze(-1)
    density = points.new_zeros(points.shape[0])
    colour = points.new_zeros(points.shape[0], 3)
    if index.numel() == 0:
        return density, colour
    queried_density, queried_colour = field(points[index])
    return (density.index_put((index,), queried_density.to(density.dtype)),
            colour.index_put((index,), queried_colour.to(colour.dtype)))
