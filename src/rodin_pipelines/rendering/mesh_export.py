"""Mesh export for any radiance field: density grid → marching cubes → coloured triangle mesh.

Written against the same *field* as the volume renderer (points ``(P, 3)`` → density ``(P,)``,
colour ``(P, 3)``), so a baked procedural avatar, a fitted tri-plane and a generated avatar all
export through one path.

The iso-level is a density, but a density alone means little; what a viewer sees is opacity.
By default the surface sits where a step of one voxel through the medium reaches
``opacity_threshold`` alpha: ``1 - exp(-density * step) = opacity``, i.e.
``density = -ln(1 - opacity) / step`` (the compositing formula of
:mod:`rodin_pipelines.rendering.compositing`). With one voxel (``2 / (G - 1)``) at G = 128 and
opacity 0.5 that is a density of about 44 per world unit.

Meshes are in world coordinates (architecture §3: +y up, face towards +z), which is also glTF's
convention, so a ``.glb`` opens upright and facing the viewer with no extra transform.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import trimesh
from skimage.measure import marching_cubes
from torch import Tensor

from rodin_pipelines.atomic_files import atomic_write_bytes
from rodin_pipelines.rendering.cameras import SCENE_BOUND
from rodin_pipelines.rendering.volume_renderer import RadianceField

MESH_SUFFIXES = (".ply", ".glb")
"""File types :func:`write_mesh` writes (both keep per-vertex colours)."""


def density_grid_from_field(
    field: RadianceField,
    resolution: int,
    chunk_points: int = 65536,
    bound: float = SCENE_BOUND,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Density of ``field`` on a ``(G, G, G)`` grid over the cube ``[-bound, bound]^3``.

    Grid point ``[i, j, k]`` is the world point ``(x_i, y_j, z_k)`` with
    ``x_i = -bound + i * 2 * bound / (G - 1)`` (``linspace(-bound, bound, G)`` per axis), so the
    index order is ``[x, y, z]``: marching-cubes vertex coordinates map to world x, y, z directly
    (unlike the baked scene's ``[z, y, x]`` volume, which follows grid_sample's layout).

    Points are made on ``device`` (where the field's weights live) and evaluated ``chunk_points``
    at a time under ``torch.no_grad()``; the returned grid is float32 on the CPU, since marching
    cubes runs there and a G = 256 grid should not hold accelerator memory.
    """
    _voxel_spacing(resolution, bound)  # validates the resolution
    axis = torch.linspace(-bound, bound, resolution, device=device)
    density = torch.empty(resolution**3)
    with torch.no_grad():
        # Points are made per chunk from their flat (row-major [x, y, z]) index, so the
        # (G^3, 3) point array never exists in full.
        for start in range(0, resolution**3, chunk_points):
            flat = torch.arange(start, min(start + chunk_points, resolution**3), device=device)
            indices = torch.unravel_index(flat, (resolution,) * 3)  # (i, j, k), (P,) each
            points = torch.stack([axis[index] for index in indices], dim=-1)  # (P, 3)
            chunk_density, _ = field(points)
            density[start : start + len(flat)] = chunk_density.float().cpu()
    return density.reshape(resolution, resolution, resolution)


def density_threshold_from_opacity(opacity: float, step: float) -> float:
    """Density at which a segment of length ``step`` reaches alpha ``opacity``.

    ``-ln(1 - opacity) / step``; e.g. opacity 0.5 over a step of ``ln 2`` gives density 1.
    """
    if not 0.0 < opacity < 1.0:
        raise ValueError(f"opacity must be in (0, 1), got {opacity}")
    if step <= 0.0:
        raise ValueError(f"step must be positive, got {step}")
    return -math.log1p(-opacity) / step


def mesh_from_field(
    field: RadianceField,
    resolution: int = 128,
    density_threshold: float | None = None,
    opacity_threshold: float = 0.5,
    step: float | None = None,
    *,
    bound: float = SCENE_BOUND,
    chunk_points: int = 65536,
    device: torch.device | str = "cpu",
) -> trimesh.Trimesh:
    """The iso-surface of ``field``'s density as a vertex-coloured, outward-facing mesh.

    Args:
        field: points ``(P, 3)`` → density ``(P,)``, colour ``(P, 3)`` in [0, 1].
        resolution: grid points per side ``G`` over ``[-bound, bound]``.
        density_threshold: iso-level; None derives it from ``opacity_threshold`` and ``step``.
        opacity_threshold: alpha a step of length ``step`` must reach to count as surface.
        step: path length for that alpha; None means one voxel, ``2 * bound / (G - 1)``.
        bound: half side of the cube sampled.
        chunk_points: points per field evaluation.
        device: where the field is evaluated.

    Returns:
        A mesh in world coordinates, faces wound counter-clockwise seen from outside (positive
        signed volume), vertex colours ``(V, 4)`` uint8 RGBA with alpha 255. Where the field is
        cut by the cube (a bust's base), the hole is capped on the cube's face, so the mesh is
        closed and every vertex lies inside ``[-bound, bound]^3``.

    Raises:
        ValueError: no part of the grid is denser than the threshold (nothing to mesh).
    """
    spacing = _voxel_spacing(resolution, bound)
    if density_threshold is None:
        density_threshold = density_threshold_from_opacity(
            opacity_threshold, spacing if step is None else step
        )
    density = density_grid_from_field(field, resolution, chunk_points, bound, device)
    if not bool((density > density_threshold).any()):
        raise ValueError(
            f"the field is empty at density threshold {density_threshold:.4g} "
            f"(max density on the {resolution}^3 grid is {density.max().item():.4g}); "
            "lower the threshold or check the field"
        )
    # One layer of empty space around the grid closes the surface where the field touches the
    # cube; the resulting cap lies within a voxel outside the cube and is clamped onto its face.
    padded = np.pad(density.numpy(), 1, mode="constant", constant_values=0.0)
    # skimage's default ("descent") winds faces for objects whose values are *lower* inside
    # (signed distances); density is higher inside, so "ascent" is what makes the faces
    # counter-clockwise seen from outside with our right-handed [x, y, z] index order
    # (the tests check the signed volume is positive and the normals point away from the centre).
    vertices, faces, _, _ = marching_cubes(
        padded,
        level=density_threshold,
        spacing=(spacing, spacing, spacing),
        gradient_direction="ascent",
        allow_degenerate=False,
    )
    # Index 0 of the padded grid sits one voxel outside the cube, at -bound - spacing.
    vertices = np.clip(vertices.astype(np.float64) - (bound + spacing), -bound, bound)
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    mesh.visual = trimesh.visual.ColorVisuals(
        mesh, vertex_colors=_vertex_colours(field, vertices, chunk_points, device)
    )
    return mesh


def _voxel_spacing(resolution: int, bound: float) -> float:
    """Distance between neighbouring grid points of ``linspace(-bound, bound, resolution)``."""
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    return 2.0 * bound / (resolution - 1)


def _vertex_colours(
    field: RadianceField, vertices: np.ndarray, chunk_points: int, device: torch.device | str
) -> np.ndarray:
    """The field's colour at ``vertices`` ``(V, 3)`` as uint8 RGBA ``(V, 4)``, alpha 255."""
    points = torch.from_numpy(vertices).float()
    colours = []
    with torch.no_grad():
        for start in range(0, len(points), chunk_points):
            _, colour = field(points[start : start + chunk_points].to(device))
            colours.append(colour.float().cpu())
    rgb = (torch.cat(colours).clamp(0.0, 1.0) * 255.0).round().to(torch.uint8).numpy()
    alpha = np.full((len(rgb), 1), 255, dtype=np.uint8)
    return np.concatenate([rgb, alpha], axis=1)


def write_mesh(mesh: trimesh.Trimesh, path: str | Path) -> None:
    """Write ``mesh`` and its vertex colours atomically as binary ``.ply`` or ``.glb`` (by suffix).

    Raises:
        ValueError: any other suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise ValueError(f"mesh files must end in one of {MESH_SUFFIXES}, got {path.name!r}")
    # Exported to memory first, so a failing exporter leaves no partial file behind either.
    data = mesh.export(file_type=suffix.lstrip("."))
    atomic_write_bytes(path, data if isinstance(data, bytes) else data.encode("utf-8"))


__all__ = [
    "MESH_SUFFIXES",
    "density_grid_from_field",
    "density_threshold_from_opacity",
    "mesh_from_field",
    "write_mesh",
]
