"""Where the render stage puts its cameras around an avatar.

Views favour the front and the upper hemisphere, where portraits are taken from, but cover the
whole head so a 3D fit is constrained from every side. All angles in degrees in the config and
radians in code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import frontal_camera_to_world, orbit_camera_to_world


@dataclass(frozen=True)
class CameraRig:
    """The distribution of views around an avatar.

    Attributes:
        radius: distance of every camera from the origin.
        fov_x_degrees: horizontal field of view.
        front_fraction: share of views with azimuth within ``front_azimuth_degrees`` of the face.
        front_azimuth_degrees: half-width of the frontal azimuth range.
        min_elevation_degrees / max_elevation_degrees: vertical range (mostly above the horizon).
    """

    radius: float = 2.8
    fov_x_degrees: float = 40.0
    front_fraction: float = 0.6
    front_azimuth_degrees: float = 75.0
    min_elevation_degrees: float = -20.0
    max_elevation_degrees: float = 55.0

    @property
    def fov_x(self) -> float:
        return math.radians(self.fov_x_degrees)


def sample_rig_cameras(rig: CameraRig, count: int, seed: int) -> Tensor:
    """``count`` camera-to-world matrices ``(count, 4, 4)`` drawn from ``rig`` with ``seed``.

    Azimuths are stratified (evenly spread, jittered) so small view counts still surround the
    head; elevations are drawn uniformly in sine, which favours views near the horizon less than
    a uniform angle would not.
    """
    generator = torch.Generator().manual_seed(seed)
    front_count = round(rig.front_fraction * count)
    back_count = count - front_count
    front = _stratified(front_count, -rig.front_azimuth_degrees, rig.front_azimuth_degrees,
                        generator)
    around = _stratified(back_count, rig.front_azimuth_degrees, 360.0 - rig.front_azimuth_degrees,
                         generator)
    azimuth = torch.deg2rad(torch.cat([front, around]))
    low, high = (math.sin(math.radians(a)) for a in
                 (rig.min_elevation_degrees, rig.max_elevation_degrees))
    sine = low + (high - low) * torch.rand(count, generator=generator)
    elevation = torch.asin(sine)
    order = torch.randperm(count, generator=generator)
    return orbit_camera_to_world(azimuth[order], elevation[order], rig.radius)


def rig_frontal_camera(rig: CameraRig) -> Tensor:
    """The canonical frontal view ``(1, 4, 4)`` at the rig's radius."""
    return frontal_camera_to_world(rig.radius)


def held_out_view_mask(count: int, every: int) -> Tensor:
    """``(count,)`` bool: every ``every``-th view (starting at the last) is held out for testing."""
    if every <= 0:
        return torch.zeros(count, dtype=torch.bool)
    index = torch.arange(count)
    return (index % every) == (every - 1)


def _stratified(count: int, start: float, stop: float, generator: torch.Generator) -> Tensor:
    if count == 0:
        return torch.zeros(0)
    width = (stop - start) / count
    return start + width * (torch.arange(count) + torch.rand(count, generator=generator))
