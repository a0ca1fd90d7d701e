"""Turntables: cameras orbiting the avatar at the rig's radius, and GIF/MP4 files of the frames."""

from __future__ import annotations

import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

from rodin_pipelines.atomic_files import replace_durably, temporary_name
from rodin_pipelines.rendering.cameras import Cameras, orbit_camera_to_world
from rodin_pipelines.rendering.compositing import straight_rgba_over

TURNTABLE_BACKGROUND = (1.0, 1.0, 1.0)


def turntable_cameras(frames: int, radius: float, fov_x: float, size: int,
                      elevation_degrees: float = 10.0) -> Cameras:
    """``frames`` cameras a full turn around +y, starting at the frontal view."""
    azimuth = torch.arange(frames, dtype=torch.float32) * (2 * math.pi / frames)
    elevation = torch.full((frames,), math.radians(elevation_degrees))
    return Cameras(orbit_camera_to_world(azimuth, elevation, radius), fov_x, size, size)


def azimuth_cameras(azimuths_degrees: list[float], radius: float, fov_x: float,
                    size: int) -> Cameras:
    """Cameras at the given azimuths (0: the frontal view), level with the origin."""
    azimuth = torch.deg2rad(torch.tensor(azimuths_degrees, dtype=torch.float32))
    return Cameras(orbit_camera_to_world(azimuth, torch.zeros(len(azimuth)), radius), fov_x,
                   size, size)


def write_turntable(frames: Tensor, path: str | Path, fps: int = 12) -> None:
    """Straight RGBA frames ``(F, H, W, 4)`` → a looping GIF or an MP4 (by suffix), atomically."""
    path = Path(path)
    rgb = straight_rgba_over(frames, torch.tensor(TURNTABLE_BACKGROUND))
    pixels = (rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    # The suffix stays last: imageio picks the format by it. A per-process, per-call name, so
    # two runs writing one turntable never write into each other's file.
    temporary = path.with_name(temporary_name(path.stem) + path.suffix)
    if path.suffix not in (".gif", ".mp4"):
        raise ValueError(f"turntable files are .gif or .mp4, got {path}")
    try:
        if path.suffix == ".gif":
            iio.imwrite(temporary, pixels, extension=".gif", duration=1000 / fps, loop=0)
        else:
            # H.264 wants even sides; macro blocks of 16 avoid a rescale warning.
            pad = [(0, 0), (0, -pixels.shape[1] % 16), (0, -pixels.shape[2] % 16), (0, 0)]
            padded = np.pad(pixels, pad, mode="edge")
            iio.imwrite(temporary, padded, extension=".mp4", fps=fps, codec="libx264")
        replace_durably(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
