"""The one reader and writer of NeRF-synthetic ``transforms.json`` files.

Every stage and the importer read cameras through :func:`read_transforms`, so the convention of
:mod:`rodin_pipelines.rendering.cameras` is applied in exactly one place. Files look like::

    {"camera_angle_x": 0.69, "w": 64, "h": 64,
     "frames": [{"file_path": "images/000", "transform_matrix": [[...4x4...]], "split": "train"}]}

``file_path`` is relative to the folder of the JSON file and may omit ``.png`` (as the public
NeRF-synthetic sets do, which also prefix it with ``./``). ``w``/``h`` and a per-frame ``split``
are optional extensions that we write and that other tools ignore.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.rendering.cameras import Cameras, rigidity_problem

IMAGE_SUFFIX = ".png"
"""The extension a ``file_path`` without one refers to."""


@dataclass(frozen=True)
class Frame:
    """One view: where its image lives and the camera that took it."""

    file_path: str
    camera_to_world: Tensor  # (4, 4)
    split: str | None = None


@dataclass(frozen=True)
class Transforms:
    """The content of one ``transforms.json``: a shared field of view and its frames."""

    fov_x: float
    frames: tuple[Frame, ...]
    width: int | None = None
    height: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def cameras(self, width: int | None = None, height: int | None = None) -> Cameras:
        """All frames' cameras; the image size comes from the file or the arguments."""
        width = width or self.width
        height = height or self.height
        if width is None or height is None:
            raise ValueError("image size unknown: pass width and height (read them from an image)")
        matrices = torch.stack([frame.camera_to_world for frame in self.frames])
        return Cameras(matrices, self.fov_x, width, height)

    def select(self, split: str) -> Transforms:
        """Only the frames whose ``split`` equals ``split``."""
        frames = tuple(frame for frame in self.frames if frame.split == split)
        return Transforms(self.fov_x, frames, self.width, self.height, self.extra)


def image_path_of(folder: str | Path, file_path: str) -> Path:
    """The image file a frame's ``file_path`` names, relative to ``folder`` (adds ``.png``)."""
    path = Path(folder) / file_path
    return path if path.suffix else path.with_suffix(IMAGE_SUFFIX)


def read_transforms(path: str | Path) -> Transforms:
    """Read and validate a ``transforms.json``; every problem names the file and the frame."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "file not found", "point to a folder with a transforms.json")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputDataError(path, f"not valid JSON ({error})", "re-export the file") from error
    if not isinstance(payload, dict):
        raise InputDataError(path, "top level must be a JSON object")
    fov_x = _read_fov_x(path, payload)
    raw_frames = payload.get("frames")
    if not isinstance(raw_frames, list) or not raw_frames:
        raise InputDataError(path, "missing field 'frames' (a non-empty list)")
    frames = tuple(_read_frame(path, index, raw) for index, raw in enumerate(raw_frames))
    extra = {k: v for k, v in payload.items() if k not in {"camera_angle_x", "frames", "w", "h"}}
    return Transforms(fov_x, frames, _read_size(path, payload, "w"), _read_size(path, payload, "h"),
                      extra)


def write_transforms(path: str | Path, transforms: Transforms) -> None:
    """Write ``transforms`` as ``transforms.json`` atomically (matrices as nested lists)."""
    payload: dict[str, Any] = {"camera_angle_x": transforms.fov_x}
    if transforms.width is not None and transforms.height is not None:
        payload["w"], payload["h"] = transforms.width, transforms.height
    payload.update(transforms.extra)
    payload["frames"] = [
        {
            "file_path": frame.file_path,
            "transform_matrix": frame.camera_to_world.double().tolist(),
            **({"split": frame.split} if frame.split is not None else {}),
        }
        for frame in transforms.frames
    ]
    atomic_write_json(path, payload)


def _read_fov_x(path: Path, payload: dict[str, Any]) -> float:
    if "camera_angle_x" not in payload:
        raise InputDataError(
            path,
            "missing field 'camera_angle_x' (horizontal field of view in radians)",
            "add it; for intrinsics given as fl_x and w, camera_angle_x = 2 * atan(w / (2 * fl_x))",
        )
    fov_x = payload["camera_angle_x"]
    # bool is an int in Python: `true` would otherwise be read as 1 radian.
    if isinstance(fov_x, bool) or not isinstance(fov_x, (int, float)) \
            or not math.isfinite(fov_x) or not 0 < fov_x < math.pi:
        raise InputDataError(path, f"camera_angle_x must be a number in (0, pi), got {fov_x!r}")
    return float(fov_x)


def _read_size(path: Path, payload: dict[str, Any], key: str) -> int | None:
    """The optional image width ``w`` or height ``h``: a positive whole number of pixels."""
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not float(value).is_integer() or value <= 0:
        raise InputDataError(path, f"'{key}' must be a positive whole number of pixels, "
                             f"got {value!r}", f"fix it or remove '{key}' (read from the images)")
    return int(value)


def _checked_file_path(path: Path, where: str, file_path: Any) -> str:
    """``file_path`` if it names a file inside the JSON's folder: a relative path that never
    climbs out (``../secret`` or ``/etc/passwd`` would read, and import, any file)."""
    if not isinstance(file_path, str) or not file_path:
        raise InputDataError(path, f"{where}.file_path must be a non-empty string")
    parts = PureWindowsPath(file_path).parts  # splits at both / and \\ and sees drives
    if PurePosixPath(file_path).is_absolute() or PureWindowsPath(file_path).anchor \
            or ".." in parts:
        raise InputDataError(path, f"{where}.file_path {file_path!r} points outside the folder "
                             "of this file", "keep images in that folder, named relative to it")
    return file_path


def _read_frame(path: Path, index: int, raw: Any) -> Frame:
    where = f"frames[{index}]"
    if not isinstance(raw, dict):
        raise InputDataError(path, f"{where} must be an object")
    for key in ("file_path", "transform_matrix"):
        if key not in raw:
            raise InputDataError(path, f"{where} is missing field '{key}'")
    try:
        matrix = torch.tensor(raw["transform_matrix"], dtype=torch.float64)
    except (TypeError, ValueError) as error:
        raise InputDataError(path, f"{where}.transform_matrix is not a 4x4 number matrix") from error
    problem = rigidity_problem(matrix)
    if problem is not None:
        raise InputDataError(
            path,
            f"{where} ({raw['file_path']}): {problem}",
            "export camera-to-world matrices without scale (rescale the scene instead)",
        )
    split = raw.get("split")
    file_path = _checked_file_path(path, where, raw["file_path"])
    return Frame(file_path, matrix.float(), str(split) if split is not None else None)
