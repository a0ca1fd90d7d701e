"""What a tri-plane is fitted to: random pixels of an avatar's views, and optionally 3D points.

Photometric supervision (rays through random pixels of the training views) is the method and
works for any avatar, imported ones included. For procedural avatars the render stage's scene
can also be queried in 3D; supervising density and colour at points is a configured accelerator
for the CPU, not a replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import SCENE_BOUND, Cameras
from rodin_pipelines.rendering.ray_box import near_far_from_box
from rodin_pipelines.rendering.rays import Rays, rays_from_cameras, rays_from_pixels
from rodin_pipelines.rendering.volume_renderer import RadianceField

NEAR_SURFACE_DISTANCE = 0.06
"""Voxels of the ground-truth scene within this distance of a surface seed near-surface points."""


@dataclass
class FitTarget:
    """One avatar's supervision.

    Attributes:
        avatar_id: which avatar.
        premultiplied: ``(V, H*W, 4)`` training pixels, colour premultiplied by alpha, and alpha.
        cameras: the ``V`` training cameras.
        scene: the ground-truth field for 3D supervision, or ``None`` (photometric only).
        surface_points: ``(M, 3)`` points near the ground-truth surface (``None`` without scene).
        crossing_pixels: flat ``(view, pixel)`` indices ``(K,)`` of the rays that cross the
            scene cube; only those are trained on (the others see nothing but background, and
            batched fitting needs every ray to reach the field). ``None``: computed on first use.
    """

    avatar_id: str
    premultiplied: Tensor
    cameras: Cameras
    scene: RadianceField | None = None
    surface_points: Tensor | None = None
    crossing_pixels: Tensor | None = None

    def pixels_crossing_the_cube(self) -> Tensor:
        """Flat indices of the training pixels whose rays cross the scene cube (cached)."""
        if self.crossing_pixels is None:
            _, _, hit = near_far_from_box(rays_from_cameras(self.cameras), SCENE_BOUND)
            self.crossing_pixels = hit.nonzero().squeeze(-1)
        return self.crossing_pixels


def premultiplied_pixels(images: Tensor) -> Tensor:
    """Straight RGBA ``(V, H, W, 4)`` → ``(V, H*W, 4)`` with colour multiplied by alpha."""
    alpha = images[..., 3:]
    return torch.cat([images[..., :3] * alpha, alpha], dim=-1).flatten(1, 2)


class FitTargetLoader(Protocol):
    """Reads the fit target of the avatar stored in a folder.

    Passed in by the caller (the fit stage knows avatar folders and procedural scenes; tri-planes
    do not); it must pickle, since phase 2 sends it to worker processes.
    """

    def __call__(self, folder: str) -> FitTarget: ...

    def settings(self) -> dict[str, Any] | None:
        """What it supervises with besides the views, for fingerprints (``None``: views only)."""


def random_ray_batch(target: FitTarget, count: int, generator: torch.Generator,
                     foreground_fraction: float = 0.0) -> tuple[Rays, Tensor]:
    """``count`` random training rays and their premultiplied RGBA targets ``(count, 4)``.

    ``foreground_fraction`` of the rays go through pixels the avatar covers (alpha > 0): most
    pixels are empty background, which a few rays suffice to keep empty.
    """
    pixels = target.premultiplied.shape[1]
    crossing = target.pixels_crossing_the_cube()
    flat = crossing[torch.randint(len(crossing), (count,), generator=generator)]
    if foreground_fraction > 0:
        covered = (target.premultiplied[..., 3].reshape(-1) > 0).nonzero().squeeze(-1)
        chosen = round(foreground_fraction * count)
        if len(covered) > 0 and chosen > 0:
            picks = torch.randint(len(covered), (chosen,), generator=generator)
            flat[:chosen] = covered[picks]
    camera_index, pixel_index = flat // pixels, flat % pixels
    rays = rays_from_pixels(target.cameras, camera_index, pixel_index)
    return rays, target.premultiplied[camera_index, pixel_index]


def random_point_batch(target: FitTarget, count: int, generator: torch.Generator) -> Tensor:
    """``(count, 3)`` points: half near the surface (jittered), half uniform in the cube."""
    uniform = (torch.rand(count - count // 2, 3, generator=generator) * 2 - 1) * SCENE_BOUND
    if target.surface_points is None or len(target.surface_points) == 0:
        return (torch.rand(count, 3, generator=generator) * 2 - 1) * SCENE_BOUND
    chosen = torch.randint(len(target.surface_points), (count // 2,), generator=generator)
    jitter = (torch.rand(count // 2, 3, generator=generator) - 0.5) * NEAR_SURFACE_DISTANCE
    near = (target.surface_points[chosen] + jitter).clamp(-SCENE_BOUND, SCENE_BOUND)
    return torch.cat([near, uniform])


def random_patch_rays(target: FitTarget, patch: int, generator: torch.Generator) -> tuple[Rays, Tensor]:
    """Rays through a random ``patch``×``patch`` window of a random training view, and their
    premultiplied RGBA targets ``(patch², 4)`` (the upsampler's patch-wise rendering loss).

    Pixels of the window whose rays miss the scene cube are replaced by random pixels that
    cross it, so every ray reaches the field (batched rendering keeps one block per avatar).
    """
    width, height = target.cameras.width, target.cameras.height
    patch = min(patch, width, height)
    view = int(torch.randint(target.premultiplied.shape[0], (), generator=generator))
    top = int(torch.randint(height - patch + 1, (), generator=generator))
    left = int(torch.randint(width - patch + 1, (), generator=generator))
    rows = torch.arange(top, top + patch)[:, None]
    columns = torch.arange(left, left + patch)[None, :]
    flat = (view * width * height + rows * width + columns).reshape(-1)
    crossing = target.pixels_crossing_the_cube()
    missing = ~torch.isin(flat, crossing)
    if bool(missing.any()):
        picks = torch.randint(len(crossing), (int(missing.sum()),), generator=generator)
        flat[missing] = crossing[picks]
    pixels = width * height
    camera_index, pixel_index = flat // pixels, flat % pixels
    rays = rays_from_pixels(target.cameras, camera_index, pixel_index)
    return rays, target.premultiplied[camera_index, pixel_index]
