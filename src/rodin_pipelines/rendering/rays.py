"""Camera rays, from the one camera convention in :mod:`rodin_pipelines.rendering.cameras`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import Cameras


@dataclass(frozen=True)
class Rays:
    """A bundle of rays.

    Attributes:
        origins: ``(N, 3)`` world-space ray origins (the camera centres).
        directions: ``(N, 3)`` unit world-space directions.
    """

    origins: Tensor
    directions: Tensor

    def __len__(self) -> int:
        return self.origins.shape[0]

    def __getitem__(self, index: slice | Tensor) -> Rays:
        return Rays(self.origins[index], self.directions[index])


def pixel_directions_in_camera(cameras: Cameras) -> Tensor:
    """Unit directions ``(H, W, 3)`` through every pixel centre, in camera coordinates.

    Pixel (u, v) with u to the right and v down maps to ``((u + 0.5 - W/2) / f, -(v + 0.5 - H/2)
    / f, -1)``: the camera looks down -z with +y up (NeRF-synthetic).
    """
    focal = cameras.focal_length
    device = cameras.camera_to_world.device
    u = torch.arange(cameras.width, dtype=torch.float32, device=device) + 0.5
    v = torch.arange(cameras.height, dtype=torch.float32, device=device) + 0.5
    grid_v, grid_u = torch.meshgrid(v, u, indexing="ij")
    directions = torch.stack(
        [
            (grid_u - 0.5 * cameras.width) / focal,
            -(grid_v - 0.5 * cameras.height) / focal,
            -torch.ones_like(grid_u),
        ],
        dim=-1,
    )
    return torch.nn.functional.normalize(directions, dim=-1)


def rays_from_cameras(cameras: Cameras) -> Rays:
    """One ray per pixel of every camera, ``N = B * H * W``, ordered camera, row, column."""
    in_camera = pixel_directions_in_camera(cameras)  # (H, W, 3)
    rotation = cameras.camera_to_world[:, :3, :3]  # (B, 3, 3)
    directions = torch.einsum("bij,hwj->bhwi", rotation, in_camera).reshape(-1, 3)
    origins = cameras.camera_to_world[:, None, :3, 3].expand(
        -1, cameras.height * cameras.width, -1
    )
    return Rays(origins.reshape(-1, 3), torch.nn.functional.normalize(directions, dim=-1))


def rays_from_pixels(cameras: Cameras, camera_index: Tensor, pixel_index: Tensor) -> Rays:
    """Rays through chosen pixels: ``camera_index`` ``(N,)`` and flat ``pixel_index`` ``(N,)``.

    Used to train on random ray batches without building every ray of every camera.
    """
    in_camera = pixel_directions_in_camera(cameras).reshape(-1, 3)[pixel_index]
    matrices = cameras.camera_to_world[camera_index]
    directions = torch.einsum("nij,nj->ni", matrices[:, :3, :3], in_camera)
    return Rays(matrices[:, :3, 3], torch.nn.functional.normalize(directions, dim=-1))
