"""A coarse occupancy grid of a radiance field: which cells of the scene cube can hold density.

Instant-NGP and nerfacc keep such a grid to skip empty space: samples in empty cells are never
sent to the field, and rays are clipped to the box around the occupied cells. The cube
``[-bound, bound]^3`` is split into ``G^3`` equal cells indexed ``[x, y, z]``. A cell is occupied
when the field's density exceeds ``density_threshold`` at any of its probe points: a lattice with
``probes_per_cell`` steps along each cell side, so every cell's corners and centre are probed
(shared with its neighbours). Occupied cells are then dilated by one cell, because density between
probes can exceed what the probes saw: the dilation keeps the whole soft ramp around every
detected surface.

What skipping costs: a ray crossing a length ``L`` of skipped cells whose density stays below the
threshold loses at most ``1 - exp(-density_threshold * L)`` of opacity (``L <= 2 * sqrt(3) *
bound``). The grid is a snapshot of the field: rebuild it when the field changes (every few
hundred fitting steps, as Instant-NGP does), or skipping may hide density that has grown since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import SCENE_BOUND

if TYPE_CHECKING:
    from rodin_pipelines.rendering.volume_renderer import RadianceField

DEFAULT_DENSITY_THRESHOLD = 1e-3
"""Densities (per world unit) below this count as empty: skipping them all the way across the
cube loses at most 0.35% opacity, less than one 8-bit level."""


@dataclass(frozen=True)
class OccupancyGrid:
    """Which of the ``G^3`` cells of the cube ``[-bound, bound]^3`` may hold density.

    Attributes:
        occupied: ``(G, G, G)`` bool, indexed ``[x, y, z]`` (x the first world axis).
        bound: half side of the cube the grid covers.
    """

    occupied: Tensor
    bound: float = SCENE_BOUND

    @classmethod
    def from_field(
        cls,
        field: RadianceField,
        resolution: int = 32,
        density_threshold: float = DEFAULT_DENSITY_THRESHOLD,
        bound: float = SCENE_BOUND,
        probes_per_cell: int = 2,
        dilation: int = 1,
        device: torch.device | str = "cpu",
        chunk_points: int = 1 << 17,
    ) -> OccupancyGrid:
        """Probe ``field`` on a lattice of ``(G * probes_per_cell + 1)^3`` points.

        Args:
            field: points ``(P, 3)`` → (density ``(P,)``, colour ``(P, 3)``).
            resolution: cells per side ``G``.
            density_threshold: densities above this mark a cell occupied.
            bound: half side of the cube (the scene cube by default).
            probes_per_cell: lattice steps per cell side (2: corners, edge and face midpoints,
                centre).
            dilation: cells added around every occupied cell (0 disables).
            device: where the probe points (and the grid) live.
            chunk_points: probes evaluated at once, to bound memory.
        """
        steps = resolution * probes_per_cell + 1
        axis = torch.linspace(-bound, bound, steps, device=device)
        x, y, z = torch.meshgrid(axis, axis, axis, indexing="ij")
        points = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
        with torch.no_grad():
            density = torch.cat([
                field(points[start : start + chunk_points])[0].reshape(-1)
                for start in range(0, points.shape[0], chunk_points)
            ])
        dense = (density > density_threshold).float().reshape(1, 1, steps, steps, steps)
        # A cell spans probes_per_cell + 1 lattice points per side, its faces shared with its
        # neighbours: max pooling with that window and a stride of one cell.
        occupied = torch.nn.functional.max_pool3d(
            dense, kernel_size=probes_per_cell + 1, stride=probes_per_cell
        )
        if dilation > 0:
            occupied = torch.nn.functional.max_pool3d(
                occupied, kernel_size=2 * dilation + 1, stride=1, padding=dilation
            )
        return cls(occupied[0, 0] > 0, bound)

    @property
    def resolution(self) -> int:
        return self.occupied.shape[0]

    @property
    def occupied_fraction(self) -> float:
        """Share of the cells that are occupied (what skipping cannot save)."""
        return self.occupied.float().mean().item()

    def occupied_box(self) -> tuple[Tensor, Tensor]:
        """Lower and upper corners ``(3,)`` of the box around every occupied cell (for
        ``render_rays(..., box=...)``); a zero-size box at the origin when nothing is occupied."""
        if not bool(self.occupied.any()):
            zero = torch.zeros(3, device=self.occupied.device)
            return zero, zero.clone()
        cell = 2.0 * self.bound / self.resolution
        index = self.occupied.nonzero()  # (M, 3) as (x, y, z)
        lower = -self.bound + index.amin(dim=0).float() * cell
        upper = -self.bound + (index.amax(dim=0).float() + 1.0) * cell
        return lower, upper

    def is_occupied(self, points: Tensor) -> Tensor:
        """``(P,)`` bool: whether each point ``(P, 3)`` lies in an occupied cell (False outside
        the cube; points on its faces belong to the outermost cells)."""
        resolution = self.resolution
        cell = ((points + self.bound) * (resolution / (2.0 * self.bound))).floor().long()
        cell = cell.clamp(0, resolution - 1)
        flat = (cell[:, 0] * resolution + cell[:, 1]) * resolution + cell[:, 2]
        inside = (points.abs() <= self.bound).all(dim=-1)
        return self.occupied.to(points.device).reshape(-1)[flat] & inside

    def to(self, device: torch.device | str) -> OccupancyGrid:
        return OccupancyGrid(self.occupied.to(device), self.bound)
