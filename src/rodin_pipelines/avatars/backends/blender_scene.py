"""The Blender worker's input: an attribute set as part meshes, materials' inputs and lights.

The avatar's geometry has one definition, the signed distance parts of :mod:`avatars.anatomy`,
:mod:`avatars.hair` and :mod:`avatars.accessories`. The worker cannot import them (it runs in
Blender's own environment without torch), and a second, hand-built Blender copy of every shape
would drift from the first. So the main process turns each part into a triangle mesh (marching
cubes of that part's distance on a grid over the cube) and hands the worker files: the worker
then builds Blender objects, modifiers and materials from them and from the attribute set.

Files written by :func:`write_scene` (read by ``blender_worker.py``)::

    scene.json    {"format", "attributes", "lighting", "render", "parts": [{"name", "albedo_srgb",
                   "vertices", "faces"}]}  -- "vertices"/"faces" name arrays of meshes.npz
    meshes.npz    float32 vertices (M, 3) and int32 faces (F, 3) per part, in world coordinates
                  (architecture §3: +y up, face towards +z); the worker converts to Blender's +z up.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skimage.measure import marching_cubes

from rodin_pipelines.atomic_files import atomic_write_bytes, atomic_write_json
from rodin_pipelines.avatars.attributes import AvatarAttributes
from rodin_pipelines.avatars.scene import Lighting, avatar_parts
from rodin_pipelines.rendering.cameras import SCENE_BOUND

SCENE_FORMAT = 1
"""Version of the scene files; the worker refuses others (bump it with any layout change)."""
SCENE_FILE = "scene.json"
MESHES_FILE = "meshes.npz"


@dataclass(frozen=True)
class PartMesh:
    """One coloured part of the avatar as a closed triangle mesh.

    Attributes:
        name: the part (``"skin"``, ``"hair"``, ``"glasses"``...), which picks its material.
        albedo_srgb: base colour as the attribute table gives it (sRGB in [0, 1]).
        vertices: ``(M, 3)`` float32 world coordinates inside ``[-1, 1]^3``.
        faces: ``(F, 3)`` int32 vertex indices, counter-clockwise seen from outside.
    """

    name: str
    albedo_srgb: tuple[float, float, float]
    vertices: np.ndarray
    faces: np.ndarray


COARSEST_GRID = 24
"""Resolution of the first, fully evaluated level of :func:`part_distance_grids`."""
REFINE_BAND = 2.0
"""A finer level re-evaluates points within this many coarser voxels of a surface."""


def part_distance_grids(
    attributes: AvatarAttributes, resolution: int, chunk_points: int = 1 << 17
) -> tuple[list[tuple[str, tuple[float, float, float]]], torch.Tensor]:
    """Every part's signed distance on a ``(G, G, G)`` grid over ``[-1, 1]^3``.

    Grid index ``[i, j, k]`` is the world point ``(x_i, y_j, z_k)``, ``x_i = -1 + 2 i / (G - 1)``,
    so marching-cubes vertices map to world x, y, z directly.

    Evaluating every part at all ``G^3`` points costs seconds at G = 128, but marching cubes only
    needs exact values near the zero level. So the grid is built coarse to fine (G, G/2, ... down
    to :data:`COARSEST_GRID`): each level is the previous one upsampled trilinearly, with the
    points within :data:`REFINE_BAND` coarse voxels of any part's surface evaluated exactly.
    Far from surfaces the values are interpolated, which keeps their sign.

    Returns:
        ``(name, albedo)`` per part, and distances ``(parts, G, G, G)`` float32.
    """
    levels = [resolution]
    while levels[-1] > 2 * COARSEST_GRID:
        levels.append((levels[-1] + 1) // 2)
    levels.reverse()
    described: list[tuple[str, tuple[float, float, float]]] = []
    grids: torch.Tensor | None = None
    with torch.no_grad():
        for level in levels:
            total = level**3
            if grids is None:
                refine = torch.arange(total)
                grids = torch.empty(0, total)
            else:
                band = REFINE_BAND * 2.0 * SCENE_BOUND / (grids.shape[-1] - 1)
                grids = torch.nn.functional.interpolate(
                    grids[None], size=(level,) * 3, mode="trilinear", align_corners=True
                )[0].reshape(len(described), total)
                refine = (grids.abs() < band).any(dim=0).nonzero().squeeze(-1)
                grids = grids.clone()
            axis = torch.linspace(-SCENE_BOUND, SCENE_BOUND, level)
            for start in range(0, len(refine), chunk_points):
                flat = refine[start : start + chunk_points]
                indices = torch.unravel_index(flat, (level,) * 3)
                points = torch.stack([axis[index] for index in indices], dim=-1)  # (P, 3)
                parts = avatar_parts(points, attributes)
                if not described:
                    described = [(part.name, tuple(float(c) for c in part.albedo))
                                 for part in parts]
                    grids = torch.empty(len(parts), total)
                grids[:, flat] = torch.stack([part.distance.float() for part in parts])
            grids = grids.reshape(len(described), level, level, level)
    assert grids is not None
    return described, grids


def part_meshes_from_attributes(attributes: AvatarAttributes, resolution: int) -> list[PartMesh]:
    """The avatar's parts as closed meshes (marching cubes of each distance at level 0).

    Parts cut by the cube (the bust's base) are capped on its face, like
    :func:`rendering.mesh_export.mesh_from_field`, so every mesh is closed and inside the cube.
    Parts too small for the grid (no voxel inside) are left out.
    """
    return part_meshes_from_grids(*part_distance_grids(attributes, resolution))


def part_meshes_from_grids(
    described: list[tuple[str, tuple[float, float, float]]], grids: torch.Tensor
) -> list[PartMesh]:
    """Meshes of :func:`part_distance_grids`' output (``(parts, G, G, G)`` distances)."""
    resolution = grids.shape[-1]
    spacing = 2.0 * SCENE_BOUND / (resolution - 1)
    meshes = []
    for (name, albedo), distance_tensor in zip(described, grids):
        distance = distance_tensor.numpy()
        if not bool((distance < 0.0).any()):
            continue
        # A layer of "outside" around the grid closes surfaces that the cube cuts.
        padded = np.pad(distance, 1, mode="constant", constant_values=spacing)
        # Distances are lower inside, so skimage's "descent" winds faces counter-clockwise
        # seen from outside for our right-handed [x, y, z] index order.
        vertices, faces, _, _ = marching_cubes(
            padded, level=0.0, spacing=(spacing,) * 3, gradient_direction="descent",
            allow_degenerate=False,
        )
        vertices = np.clip(vertices - (SCENE_BOUND + spacing), -SCENE_BOUND, SCENE_BOUND)
        meshes.append(PartMesh(name, albedo, vertices.astype(np.float32),
                               faces.astype(np.int32)))
    return meshes


def write_scene(
    folder: str | Path,
    attributes: AvatarAttributes,
    meshes: list[PartMesh],
    lighting: Lighting,
    render_settings: dict[str, Any],
) -> Path:
    """Write ``scene.json`` and ``meshes.npz`` for the worker into ``folder``; returns the JSON.

    ``render_settings`` are the worker's Cycles settings (samples, denoise, bounces, seed...).
    """
    folder = Path(folder)
    arrays: dict[str, np.ndarray] = {}
    parts = []
    for index, mesh in enumerate(meshes):
        vertices_key, faces_key = f"part{index:02d}_vertices", f"part{index:02d}_faces"
        arrays[vertices_key], arrays[faces_key] = mesh.vertices, mesh.faces
        parts.append({"name": mesh.name, "albedo_srgb": list(mesh.albedo_srgb),
                      "vertices": vertices_key, "faces": faces_key})
    atomic_write_bytes(folder / MESHES_FILE, _npz_bytes(arrays))
    scene = {
        "format": SCENE_FORMAT,
        "attributes": attributes.to_dict(),
        "lighting": asdict(lighting),
        "render": render_settings,
        "meshes": MESHES_FILE,
        "parts": parts,
    }
    atomic_write_json(folder / SCENE_FILE, scene)
    return folder / SCENE_FILE


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An uncompressed ``.npz`` in memory (plain arrays: it loads with ``allow_pickle=False``)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
