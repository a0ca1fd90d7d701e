"""The avatar folder: the one on-disk layout every stage reads multi-view avatars from.

::

    <root>/<avatar_id>/
        transforms.json     NeRF-synthetic cameras; frame ``split`` is train / test / frontal
        images/000.png ...  RGBA PNGs (straight alpha), one per frame
        attributes.json     the attribute set (procedural avatars; {} for imported ones)
        caption.txt         the caption on the first line, paraphrases on the next lines
        meta.json           avatar id, source, and the fingerprint of what produced it

A folder is written atomically (temporary sibling, then one rename), so a folder under its final
name is always complete; ``meta.json``'s fingerprint tells a rerun whether it may be reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from rodin_pipelines.atomic_files import TEMPORARY_PREFIX, atomic_directory, atomic_write_json
from rodin_pipelines.avatars.image_files import read_rgba_pixels
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.transforms_json import (
    Frame,
    Transforms,
    image_path_of,
    read_transforms,
    write_transforms,
)

TRANSFORMS_FILE = "transforms.json"
IMAGES_FOLDER = "images"
ATTRIBUTES_FILE = "attributes.json"
CAPTION_FILE = "caption.txt"
META_FILE = "meta.json"

TRAIN_SPLIT = "train"
"""Frames the fitting stage trains on."""
TEST_SPLIT = "test"
"""Held-out frames, for evaluating a fit."""
FRONTAL_SPLIT = "frontal"
"""The canonical frontal view that the latent encoder reads (one per avatar)."""


@dataclass
class AvatarViews:
    """One avatar's multi-view images, cameras and descriptions, as stored in its folder.

    Attributes:
        avatar_id: folder name.
        images: ``(V, H, W, 4)`` float32 RGBA in [0, 1], one per frame, straight alpha.
        transforms: cameras of the ``V`` frames (same order as ``images``).
        attributes: the attribute set that produced the avatar (empty when imported).
        captions: the caption first, then paraphrases (empty when imported without one).
        meta: provenance (source, fingerprint, backend...).
    """

    avatar_id: str
    images: Tensor
    transforms: Transforms
    attributes: dict[str, Any] = field(default_factory=dict)
    captions: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def cameras(self) -> Cameras:
        """The cameras of all frames, sized like the images."""
        return self.transforms.cameras(self.images.shape[2], self.images.shape[1])

    def split_indices(self, split: str) -> list[int]:
        """Indices of the frames in ``split``."""
        return [i for i, frame in enumerate(self.transforms.frames) if frame.split == split]

    def frontal_index(self) -> int:
        """The frontal view's frame (the latent's view); the first frame when there is none
        (imported avatars)."""
        frontal = self.split_indices(FRONTAL_SPLIT)
        return frontal[0] if frontal else 0


def image_file_name(index: int) -> str:
    """The ``file_path`` (no extension, as NeRF-synthetic writes it) of frame ``index``."""
    return f"{IMAGES_FOLDER}/{index:03d}"


def write_avatar_folder(folder: str | Path, avatar: AvatarViews) -> None:
    """Write ``avatar`` to ``folder`` atomically, replacing any previous content."""
    images = avatar.images
    if images.ndim != 4 or images.shape[-1] != 4:
        raise ValueError(f"images must be (V, H, W, 4) RGBA, got {tuple(images.shape)}")
    if images.shape[0] != len(avatar.transforms.frames):
        raise ValueError(
            f"{images.shape[0]} images but {len(avatar.transforms.frames)} frames for "
            f"avatar {avatar.avatar_id}"
        )
    with atomic_directory(folder) as staging:
        (staging / IMAGES_FOLDER).mkdir()
        frames = []
        pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
        for index, (frame, image) in enumerate(zip(avatar.transforms.frames, pixels)):
            file_path = image_file_name(index)
            Image.fromarray(image, mode="RGBA").save(image_path_of(staging, file_path))
            frames.append(Frame(file_path, frame.camera_to_world, frame.split))
        transforms = Transforms(
            avatar.transforms.fov_x,
            tuple(frames),
            width=images.shape[2],
            height=images.shape[1],
            extra=avatar.transforms.extra,
        )
        write_transforms(staging / TRANSFORMS_FILE, transforms)
        atomic_write_json(staging / ATTRIBUTES_FILE, avatar.attributes)
        (staging / CAPTION_FILE).write_text("\n".join(avatar.captions) + "\n", encoding="utf-8")
        atomic_write_json(staging / META_FILE, {"avatar_id": avatar.avatar_id, **avatar.meta})


def read_avatar_meta(folder: str | Path) -> dict[str, Any] | None:
    """The ``meta.json`` of a finished avatar folder, or ``None`` if there is none."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def read_avatar_folder(folder: str | Path) -> AvatarViews:
    """Read and validate one avatar folder; every problem names the file and the fix."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(folder, "avatar folder not found", "run the render or ingest stage")
    transforms = read_transforms(folder / TRANSFORMS_FILE)
    images = read_frame_images(folder, transforms)
    on_disk = sorted((folder / IMAGES_FOLDER).glob("*.png"))
    if len(on_disk) != len(transforms.frames):
        raise InputDataError(
            folder / TRANSFORMS_FILE,
            f"frame count mismatch: {len(transforms.frames)} frames listed but {len(on_disk)} "
            f"PNG files in {IMAGES_FOLDER}/",
            "list every image in transforms.json (or delete the stray images) and re-run",
        )
    attributes = _read_json_or_empty(folder / ATTRIBUTES_FILE)
    caption_path = folder / CAPTION_FILE
    captions = []
    if caption_path.is_file():
        captions = [line.strip() for line in caption_path.read_text("utf-8").splitlines()]
        captions = [line for line in captions if line]
    meta = _read_json_or_empty(folder / META_FILE)
    return AvatarViews(folder.name, images, transforms, attributes, captions, meta)


def read_frame_images(folder: Path, transforms: Transforms) -> Tensor:
    """Load every frame's image as ``(V, H, W, 4)`` float RGBA; all must share one size."""
    images = [read_rgba_image(image_path_of(folder, f.file_path)) for f in transforms.frames]
    sizes = {image.shape[:2] for image in images}
    if len(sizes) != 1:
        raise InputDataError(folder, f"images have different sizes {sorted(sizes)}",
                             "resize every view of an avatar to one size")
    stacked = torch.from_numpy(np.stack(images))
    if transforms.width is not None and transforms.height is not None:
        expected = (transforms.height, transforms.width)
        if tuple(stacked.shape[1:3]) != expected:
            raise InputDataError(
                folder / TRANSFORMS_FILE,
                f"w/h say {expected[1]}x{expected[0]} but the images are "
                f"{stacked.shape[2]}x{stacked.shape[1]}",
                "fix w and h or remove them",
            )
    return stacked


def read_rgba_image(path: Path) -> np.ndarray:
    """One image as ``(H, W, 4)`` float32 RGBA in [0, 1]; an image without alpha is opaque."""
    if not path.is_file():
        raise InputDataError(path, "image missing", "restore the file or drop its frame")
    pixels, mode = read_rgba_pixels(path, "re-render or re-export this view")
    if mode in {"I;16", "I", "F"}:
        raise InputDataError(path, f"unsupported image mode {mode}", "save as 8-bit RGBA")
    return pixels.astype(np.float32) / 255.0


def finished_avatar_ids(root: str | Path) -> list[str]:
    """Ids of the complete avatar folders under ``root`` (temporary leftovers excluded)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(
        path.name
        for path in root.iterdir()
        if path.is_dir() and not path.name.startswith(TEMPORARY_PREFIX)
        and (path / META_FILE).is_file()
    )


def _read_json_or_empty(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputDataError(path, f"not valid JSON ({error})", "re-render this avatar") from error
    return payload if isinstance(payload, dict) else {}


@dataclass(frozen=True)
class AvatarJob:
    """Deferred work that produces one avatar folder.

    Attributes:
        fingerprint: changes whenever the output would change (attributes, render settings...).
        build: produces the avatar when called; not called if a matching folder exists.
    """

    fingerprint: str
    build: Callable[[], AvatarViews]


class AvatarFolderReader:
    """A lazy reader of one avatar folder: call it to load; ``folder`` and ``meta()`` are cheap."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self) -> AvatarViews:
        return read_avatar_folder(self.folder)

    def meta(self) -> dict[str, Any]:
        return read_avatar_meta(self.folder) or {}
