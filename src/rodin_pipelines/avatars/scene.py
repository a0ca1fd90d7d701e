"""A procedural avatar as a 3D scene: attributes → signed distance parts → a baked radiance field.

The scene is first a union of coloured signed distance parts (:mod:`anatomy`, :mod:`hair`,
:mod:`accessories`). It is then *baked* on a voxel grid over the cube [-1, 1]^3: the signed
distance and a shaded colour per voxel. The baked grid **is** the avatar's ground truth: the
renderer draws it through the project's one volume renderer, and :meth:`BakedAvatarScene.__call__`
answers density and colour at any 3D point (the fitting stage's optional 3D supervision) from the
same numbers, so images and 3D queries always agree.

Shading is Lambertian with fixed world-space lights and a sky/ground ambient term: it does not
depend on the view direction, so a radiance field whose colour ignores direction can reproduce it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rodin_pipelines.avatars.attributes import AvatarAttributes

import torch
from torch import Tensor

from rodin_pipelines.avatars.accessories import glasses_parts, hat_parts
from rodin_pipelines.avatars.anatomy import bust_parts, face_parts, landmarks_from_attributes
from rodin_pipelines.avatars.hair import facial_hair_parts, hair_parts
from rodin_pipelines.avatars.parts import Part
from rodin_pipelines.rendering.cameras import SCENE_BOUND


@dataclass(frozen=True)
class Lighting:
    """View-independent lighting: ambient (brighter from above) plus two directional lights."""

    ambient: float = 0.38
    sky_bias: float = 0.25
    key_direction: tuple[float, float, float] = (0.45, 0.6, 0.75)
    key_strength: float = 0.62
    fill_direction: tuple[float, float, float] = (-0.7, 0.15, 0.5)
    fill_strength: float = 0.22


@dataclass(frozen=True)
class SceneSettings:
    """How an avatar's scene becomes a radiance field.

    Attributes:
        grid_resolution: voxels per side of the baked grid over [-1, 1]^3 (G).
        surface_softness: width (world units) of the density ramp across the surface.
        max_density: density (per world unit) well inside the surface.
        part_blend: smooth-union radius between parts (soft CG look, no cracks).
        colour_blend: distance scale over which neighbouring parts' colours mix.
        lighting: the fixed lights.
    """

    grid_resolution: int = 96
    surface_softness: float = 0.012
    max_density: float = 250.0
    part_blend: float = 0.01
    colour_blend: float = 0.006
    lighting: Lighting = field(default_factory=Lighting)


def scene_settings(scene: SceneSettings | Mapping[str, Any] | None) -> SceneSettings:
    """Scene settings from a ``render.scene`` parameter block (its fields; the lights are fixed)."""
    if isinstance(scene, SceneSettings):
        return scene
    return SceneSettings(**(scene or {}))


def avatar_parts(points: Tensor, attributes: AvatarAttributes) -> list[Part]:
    """Every coloured part of the avatar described by ``attributes``, at ``points`` ``(P, 3)``."""
    head = landmarks_from_attributes(attributes)
    return [
        *bust_parts(points, head, attributes),
        *face_parts(points, head, attributes),
        *hair_parts(points, head, attributes),
        *facial_hair_parts(points, head, attributes),
        *glasses_parts(points, head, attributes),
        *hat_parts(points, head, attributes),
    ]


def distance_and_albedo(
    points: Tensor, attributes: AvatarAttributes, settings: SceneSettings
) -> tuple[Tensor, Tensor]:
    """Signed distance ``(P,)`` of the whole avatar and its base colour ``(P, 3)`` at ``points``."""
    parts = avatar_parts(points, attributes)
    distances = torch.stack([part.distance for part in parts])  # (parts, P)
    albedos = torch.tensor([part.albedo for part in parts], dtype=points.dtype)  # (parts, 3)
    blend = settings.part_blend
    # Smooth minimum of all parts (log-sum-exp form), softly joining touching parts.
    distance = -blend * torch.logsumexp(-distances / blend, dim=0) if blend > 0 else \
        distances.amin(dim=0)
    weights = torch.softmax(-distances / settings.colour_blend, dim=0)
    return distance, weights.T @ albedos


def density_from_distance(distance: Tensor, settings: SceneSettings) -> Tensor:
    """Density ramping from 0 outside to ``max_density`` inside across ``surface_softness``."""
    return settings.max_density * torch.sigmoid(-distance / settings.surface_softness * 4.0)


def shade(albedo: Tensor, normals: Tensor, lighting: Lighting) -> Tensor:
    """Lambertian colour ``(P, 3)`` from albedo ``(P, 3)`` and unit normals ``(P, 3)``."""
    key = torch.nn.functional.normalize(torch.tensor(lighting.key_direction), dim=0)
    fill = torch.nn.functional.normalize(torch.tensor(lighting.fill_direction), dim=0)
    ambient = lighting.ambient * (1.0 - lighting.sky_bias + lighting.sky_bias * normals[:, 1])
    light = (
        ambient
        + lighting.key_strength * (normals @ key).clamp_min(0.0)
        + lighting.fill_strength * (normals @ fill).clamp_min(0.0)
    )
    return (albedo * light[:, None]).clamp(0.0, 1.0)


def grid_points(resolution: int) -> Tensor:
    """Voxel centres ``(G^3, 3)`` of the baked grid, ordered z, y, x (x fastest)."""
    return _cube_lattice(torch.linspace(-SCENE_BOUND, SCENE_BOUND, resolution))


def _cube_lattice(axis: Tensor) -> Tensor:
    """Points ``(N^3, 3)`` with every coordinate on ``axis`` ``(N,)``, ordered z, y, x."""
    z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack([x, y, z], dim=-1).reshape(-1, 3)


class BakedAvatarScene:
    """An avatar baked on a grid: a radiance field ``points (P, 3) → (density (P,), colour (P, 3))``.

    ``volume`` is ``(1, 4, G, G, G)`` indexed ``[z, y, x]`` (grid_sample's depth, height, width):
    channel 0 the signed distance, 1–3 the shaded colour.
    """

    def __init__(self, volume: Tensor, settings: SceneSettings) -> None:
        self.volume = volume
        self.settings = settings

    def __call__(self, points: Tensor) -> tuple[Tensor, Tensor]:
        # align_corners=True: the first and last voxels sit exactly on the cube's faces.
        grid = (points / SCENE_BOUND).reshape(1, 1, 1, -1, 3)
        values = torch.nn.functional.grid_sample(
            self.volume, grid, mode="bilinear", padding_mode="border", align_corners=True
        ).reshape(4, -1)
        return density_from_distance(values[0], self.settings), values[1:].T

    def occupied_box(self, margin: float = 0.05) -> tuple[Tensor, Tensor]:
        """Corners ``(3,)``, ``(3,)`` of the box around every voxel within ``margin`` of a
        surface: renders clip rays to it, so empty space around the bust costs nothing."""
        near_surface = self.volume[0, 0] < margin  # (G, G, G) indexed z, y, x
        axis = torch.linspace(-SCENE_BOUND, SCENE_BOUND, near_surface.shape[0])
        if not bool(near_surface.any()):
            return torch.zeros(3), torch.zeros(3)
        lower, upper = [], []
        for reduce_dims in ((0, 1), (0, 2), (1, 2)):  # x, y, z
            present = near_surface.any(dim=reduce_dims[0]).any(dim=reduce_dims[1] - 1)
            index = present.nonzero().squeeze(-1)
            lower.append(axis[index.min()] - margin)
            upper.append(axis[index.max()] + margin)
        return (torch.stack(lower).clamp(min=-SCENE_BOUND),
                torch.stack(upper).clamp(max=SCENE_BOUND))

    def near_surface_points(self, distance: float) -> Tensor:
        """Centres ``(M, 3)`` of the voxels within ``distance`` of a surface (3D supervision)."""
        resolution = self.volume.shape[-1]
        close = self.volume[0, 0].abs() < distance  # (G, G, G) indexed z, y, x
        index = close.nonzero().float()  # (M, 3) as (z, y, x)
        coordinates = -SCENE_BOUND + index * (2.0 * SCENE_BOUND / (resolution - 1))
        return coordinates.flip(-1)  # (x, y, z)

    def distance(self, points: Tensor) -> Tensor:
        """Interpolated signed distance ``(P,)`` (for meshes and tests)."""
        grid = (points / SCENE_BOUND).reshape(1, 1, 1, -1, 3)
        return torch.nn.functional.grid_sample(
            self.volume[:, :1], grid, mode="bilinear", padding_mode="border", align_corners=True
        ).reshape(-1)


NARROW_BAND_COARSENING = 4
"""The bake first evaluates every 4th voxel; only cells near a surface are evaluated in full."""
EXACT_BAND = 0.08
"""World units from a surface within which baked voxels are always evaluated exactly: beyond
3x the surface softness the density is 0 or saturated, and the colour is never seen."""


def _evaluate_in_chunks(points: Tensor, attributes: AvatarAttributes, settings: SceneSettings,
                        chunk_points: int) -> tuple[Tensor, Tensor]:
    distance = torch.empty(points.shape[0])
    albedo = torch.empty(points.shape[0], 3)
    for start in range(0, points.shape[0], chunk_points):
        stop = start + chunk_points
        distance[start:stop], albedo[start:stop] = distance_and_albedo(
            points[start:stop], attributes, settings)
    return distance, albedo


def _narrow_band_distance_and_albedo(attributes: AvatarAttributes, settings: SceneSettings,
                                     chunk_points: int) -> tuple[Tensor, Tensor]:
    """Distance ``(G, G, G)`` and albedo ``(G³, 3)`` on the bake grid (indexed z, y, x),
    exact near surfaces and trilinearly interpolated from a coarse grid elsewhere.

    Most of the cube is far from any surface, where a coarse grid says enough: a coarse cell is
    refined when a corner lies within :data:`EXACT_BAND` plus the cell's diagonal of a surface
    (an exact distance would need half the diagonal; the primitives are only bounds).
    """
    resolution, step = settings.grid_resolution, NARROW_BAND_COARSENING
    cells = -(-(resolution - 1) // step)  # coarse cells per side, covering the grid
    spacing = grid_spacing(settings)
    # Coarse nodes on every step-th voxel; the last may lie just outside the cube.
    axis = -SCENE_BOUND + spacing * step * torch.arange(cells + 1, dtype=torch.float32)
    coarse_distance, coarse_albedo = _evaluate_in_chunks(_cube_lattice(axis), attributes,
                                                         settings, chunk_points)
    coarse = torch.cat([coarse_distance[:, None], coarse_albedo], dim=-1).T.reshape(
        1, 4, cells + 1, cells + 1, cells + 1)
    fine = torch.nn.functional.interpolate(coarse, size=(cells * step + 1,) * 3,
                                           mode="trilinear", align_corners=True)
    fine = fine[0, :, :resolution, :resolution, :resolution].contiguous()  # (4, G, G, G)
    corner_distance = torch.nn.functional.max_pool3d(
        -coarse[:, :1].abs(), kernel_size=2, stride=1)[0, 0].neg()  # (cells,)^3: min |d|
    diagonal = spacing * step * 3 ** 0.5
    near = corner_distance < EXACT_BAND + diagonal
    refine = near.repeat_interleave(step, 0).repeat_interleave(step, 1).repeat_interleave(step, 2)
    refine = refine[:resolution, :resolution, :resolution]
    index = refine.reshape(-1).nonzero().squeeze(-1)
    exact_distance, exact_albedo = _evaluate_in_chunks(
        grid_points(resolution)[index], attributes, settings, chunk_points)
    distance, albedo = fine[0].reshape(-1), fine[1:].reshape(3, -1).T.contiguous()
    distance[index], albedo[index] = exact_distance, exact_albedo
    return distance.reshape(resolution, resolution, resolution), albedo


def bake_avatar_scene(
    attributes: AvatarAttributes, settings: SceneSettings, chunk_points: int = 1 << 18,
    narrow_band: bool = True,
) -> BakedAvatarScene:
    """Evaluate the avatar on a ``G^3`` grid and shade it with normals from the distance field.

    ``narrow_band``: evaluate exactly only near surfaces (same renders, a fraction of the
    time: :func:`_narrow_band_distance_and_albedo`); ``False`` evaluates every voxel."""
    resolution = settings.grid_resolution
    if narrow_band:
        distance_grid, albedo = _narrow_band_distance_and_albedo(attributes, settings,
                                                                 chunk_points)
    else:
        distance, albedo = _evaluate_in_chunks(grid_points(resolution), attributes, settings,
                                               chunk_points)
        distance_grid = distance.reshape(resolution, resolution, resolution)
    spacing = grid_spacing(settings)
    d_dz, d_dy, d_dx = torch.gradient(distance_grid, spacing=spacing)
    normals = torch.nn.functional.normalize(
        torch.stack([d_dx, d_dy, d_dz], dim=-1).reshape(-1, 3), dim=-1
    )
    colour = shade(albedo, normals, settings.lighting)
    volume = torch.cat([distance_grid.reshape(-1, 1), colour], dim=-1).T.reshape(
        1, 4, resolution, resolution, resolution
    )
    return BakedAvatarScene(volume.contiguous(), settings)


def grid_spacing(settings: SceneSettings) -> float:
    """Distance between neighbouring voxel centres."""
    return 2.0 * SCENE_BOUND / (settings.grid_resolution - 1)


__all__ = [
    "BakedAvatarScene",
    "Lighting",
    "SceneSettings",
    "avatar_parts",
    "bake_avatar_scene",
    "density_from_distance",
    "distance_and_albedo",
    "grid_spacing",
    "shade",
]

