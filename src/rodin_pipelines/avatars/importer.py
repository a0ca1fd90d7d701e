"""Import a multi-view folder in NeRF-synthetic form as one avatar (our avatar folder layout).

Accepted source layouts (``file_path`` relative to the JSON's folder, ``.png`` and ``./`` optional):

- NeRF-synthetic split files: ``transforms_train.json`` (frames become split ``"train"``) plus
  optional ``transforms_val.json`` / ``transforms_test.json`` (both become ``"test"``). They must
  share one ``camera_angle_x``: an avatar has one field of view.
- One ``transforms.json``: frames keep their ``split`` (train / val -> test / test / frontal;
  unlabelled frames of a labelled file train). If no frame has one, every ``holdout_every``-th
  frame (the k-th, 2k-th, ... so the first views always train) is held out as ``"test"``.

Axes are never flipped behind the user's back. Our world is +y up with the face towards +z
(architecture §3); Blender's NeRF-synthetic scenes are +z up with the front towards -y. Pass
``up_axis=UpAxis.Z`` to rotate such a world -90° about x, ``(x, y, z) -> (x, z, -y)``.

With ``recentre`` every world point ``x`` moves to ``scale * (R_up @ x) + translation`` (stored
in ``meta.json``): a similarity, so camera rotations stay rigid and every pixel keeps its
meaning. The object's box comes from visual-hull carving of the alpha masks; without masks (all
views opaque) the centre is the point nearest to every optical axis instead.

Non-square images keep their aspect ratio when resized: the width becomes ``image_size`` (the
horizontal field of view stays exact; the height is rounded to whole pixels).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from enum import Enum
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from rodin_pipelines.avatars.folder import (
    FRONTAL_SPLIT, TEST_SPLIT, TRAIN_SPLIT, AvatarViews, image_file_name, read_rgba_image,
)
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.fingerprints import fingerprint
from rodin_pipelines.folder_names import checked_folder_name, folder_name_from
from rodin_pipelines.rendering.cameras import Cameras, project_points
from rodin_pipelines.rendering.transforms_json import (
    IMAGE_SUFFIX, Frame, Transforms, image_path_of, read_transforms,
)

logger = logging.getLogger(__name__)

SINGLE_FILE = "transforms.json"
SPLIT_FILES = {"transforms_train.json": TRAIN_SPLIT, "transforms_val.json": TEST_SPLIT,
               "transforms_test.json": TEST_SPLIT}
"""NeRF-synthetic's split files (train first) and the split their frames get here."""
SOURCE_SPLITS = {"train": TRAIN_SPLIT, "val": TEST_SPLIT, "test": TEST_SPLIT,
                 "frontal": FRONTAL_SPLIT}
"""Per-frame ``split`` values a single transforms.json may use, and what they become."""
IGNORED_INTRINSICS = ("fl_x", "fl_y", "cx", "cy", "k1", "k2", "p1", "p2")
MASK_THRESHOLD = 0.5
"""Alpha above which a pixel belongs to the object's silhouette."""
CARVE_RESOLUTION = 48
"""Grid points per side of each of the two carving passes (the second one spans the object)."""
MIN_VIEW_FRACTION = 0.25
"""A grid point counts as occupied only if at least this fraction of the views see it: a point
that one or two cameras see (e.g. right in front of a lens) is unconstrained, not object."""
IMPORTER_VERSION = 1
"""Bump when the same source and options would import differently, to invalidate old folders."""


class UpAxis(str, Enum):
    """The source world's up axis; ours is +y."""

    Y = "y"
    Z = "z"

    @property
    def rotation(self) -> Tensor:
        """``(3, 3)`` float64 rotation from the source world into ours."""
        return torch.tensor(_UP_ROTATIONS[self], dtype=torch.float64)


_UP_ROTATIONS = {
    UpAxis.Y: ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    # -90° about x: +z (Blender's up) -> +y, and Blender's front (-y) -> +z, our face direction.
    UpAxis.Z: ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),
}


@dataclass(frozen=True)
class ImportOptions:
    """Everything that shapes an import besides the source; equal options, equal output."""

    split: str = TRAIN_SPLIT
    recentre: bool = True
    target_half_extent: float = 0.8
    fallback_camera_distance: float = 4.0
    image_size: int | None = None
    holdout_every: int = 8
    up_axis: UpAxis = UpAxis.Y
    caption: str | None = None

    def __post_init__(self) -> None:
        raw = self.up_axis.value if isinstance(self.up_axis, UpAxis) else self.up_axis
        try:  # accept "y", "Y", "+z" from YAML or the command line
            object.__setattr__(self, "up_axis", UpAxis(str(raw).strip().lower().lstrip("+")))
        except ValueError:
            choices = [axis.value for axis in UpAxis]
            raise ValueError(f"up_axis must be one of {choices}, got {raw!r}") from None
        if not isinstance(self.split, str) or not self.split:
            raise ValueError(f"split must be a non-empty string, got {self.split!r}")
        if not 0 < self.target_half_extent <= 1:
            raise ValueError(f"target_half_extent must be in (0, 1], got {self.target_half_extent}")
        if not self.fallback_camera_distance > 0:
            raise ValueError(f"fallback_camera_distance must be > 0, got "
                             f"{self.fallback_camera_distance}")
        if self.image_size is not None and not _is_int_at_least(self.image_size, 1):
            raise ValueError(f"image_size must be a positive int or None, got {self.image_size!r}")
        if self.holdout_every != 0 and not _is_int_at_least(self.holdout_every, 2):
            raise ValueError(f"holdout_every must be 0 (no hold-out) or an int >= 2, got "
                             f"{self.holdout_every!r}")


def _is_int_at_least(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def import_nerf_synthetic(
    source: str | Path,
    avatar_id: str | None = None,
    *,
    split: str = TRAIN_SPLIT,
    recentre: bool = True,
    target_half_extent: float = 0.8,
    fallback_camera_distance: float = 4.0,
    image_size: int | None = None,
    holdout_every: int = 8,
    up_axis: UpAxis | str = UpAxis.Y,
    caption: str | None = None,
) -> AvatarViews:
    """Import the NeRF-synthetic folder ``source`` as one avatar (see the module docstring).

    Returns an :class:`AvatarViews` with images ``(V, H, W, 4)`` (straight alpha; RGB sources are
    opaque), frames ``images/000``... with split train/test, and provenance in ``meta``. Every
    problem with the source raises :class:`InputDataError` naming the offending file.
    """
    options = ImportOptions(split, recentre, target_half_extent, fallback_camera_distance,
                            image_size, holdout_every, up_axis, caption)
    folder = _source_folder(source)
    avatar_id = avatar_id_for(folder, avatar_id)
    fov_x, sources = _read_source(folder, options.holdout_every)
    images = _load_images([_resolve_image(path.parent, f.file_path) for path, f in sources],
                          options.image_size)
    matrices = torch.stack([frame.camera_to_world for _, frame in sources]).double()
    # Rotating the whole 3x4 block turns the camera's axes and moves its centre alike.
    matrices[:, :3, :] = options.up_axis.rotation @ matrices[:, :3, :]
    scale, translation, method = 1.0, torch.zeros(3, dtype=torch.float64), None
    if options.recentre:
        cameras = Cameras(matrices.float(), fov_x, images.shape[2], images.shape[1])
        scale, centre, method = _normalisation(images[..., 3], cameras, options, sources[0][0])
        translation = -scale * centre.double()
        # Only centres move: a uniform scale of the world scales depths and lateral offsets alike.
        matrices[:, :3, 3] = scale * matrices[:, :3, 3] + translation
    frames = tuple(Frame(image_file_name(i), matrix.float(), frame.split)
                   for i, (matrix, (_, frame)) in enumerate(zip(matrices, sources)))
    captions = [line.strip() for line in (options.caption or "").splitlines() if line.strip()]
    meta = {"source": "imported", "source_path": str(folder), "split": options.split,
            "recentre": options.recentre, "scale": scale, "translation": translation.tolist(),
            "up_axis": options.up_axis.value, "centre_method": method}
    transforms = Transforms(fov_x, frames, images.shape[2], images.shape[1])
    return AvatarViews(avatar_id, images, transforms, {}, captions, meta)


def fingerprint_of_import(source: str | Path, avatar_id: str | None = None,
                          **options: object) -> str:
    """A hash that changes whenever importing ``source`` with ``options`` would change.

    Covers the JSON files' content, each image's size and modification time (cheaper than
    hashing pixels), the resolved options and :data:`IMPORTER_VERSION`.
    """
    folder = _source_folder(source)
    resolved = ImportOptions(**options)  # type: ignore[arg-type]
    settings = {**asdict(resolved), "up_axis": resolved.up_axis.value, "source": str(folder),
                "avatar_id": avatar_id_for(folder, avatar_id), "version": IMPORTER_VERSION}
    _, sources = _read_source(folder, resolved.holdout_every)

    def parts() -> Iterator[str | bytes]:
        yield json.dumps(settings, sort_keys=True)
        for json_path in dict.fromkeys(path for path, _ in sources):
            yield json_path.name.encode() + json_path.read_bytes()
        for json_path, frame in sources:
            image = _resolve_image(json_path.parent, frame.file_path)
            stat = image.stat() if image.is_file() else None
            yield f"{image}:{stat.st_size}:{stat.st_mtime_ns}" if stat else f"{image}:missing"

    return fingerprint(parts(), length=None)


def avatar_id_for(source: str | Path, avatar_id: str | None = None) -> str:
    """``avatar_id`` checked, or by default the source folder's name made safe for a folder."""
    if avatar_id is None:
        return folder_name_from(_source_folder(source).name)
    return checked_folder_name(avatar_id, "avatar_id")


def resize_rgba(image: Tensor, image_size: int) -> Tensor:
    """Resize ``(H, W, 4)`` straight-alpha RGBA to width ``image_size``, keeping the aspect.

    Colour is filtered premultiplied, so transparent pixels' (meaningless) colour does not
    bleed into edges as dark fringes. Antialiased bilinear is a non-negative (triangle) filter:
    values stay in [0, 1] and premultiplied colour never exceeds alpha, so un-premultiplying is
    safe (Lanczos or bicubic would overshoot).
    """
    height, width = image.shape[:2]
    new_height = max(1, round(height * image_size / width))
    if (new_height, image_size) == (height, width):
        return image
    alpha = image[..., 3:]
    premultiplied = torch.cat([image[..., :3] * alpha, alpha], dim=-1).permute(2, 0, 1)[None]
    resized = F.interpolate(premultiplied, size=(new_height, image_size), mode="bilinear",
                            align_corners=False, antialias=True)[0].permute(1, 2, 0)
    alpha = resized[..., 3:].clamp(0, 1)
    colour = torch.where(alpha > 1e-6, resized[..., :3] / alpha.clamp_min(1e-6), 0.0)
    return torch.cat([colour.clamp(0, 1), alpha], dim=-1)


def nearest_point_to_axes(camera_to_world: Tensor) -> Tensor:
    """The point ``(3,)`` nearest (least squares) to the optical axes of ``(V, 4, 4)`` cameras."""
    origins = camera_to_world[:, :3, 3].double()
    directions = F.normalize(-camera_to_world[:, :3, 2].double(), dim=-1)  # cameras look down -z
    identity = torch.eye(3, dtype=torch.float64)
    projectors = identity - directions[:, :, None] * directions[:, None, :]  # (V, 3, 3)
    # A faint pull towards the cameras' centroid keeps it solvable when all axes are parallel.
    ridge = 1e-6 * len(origins)
    lhs = projectors.sum(0) + ridge * identity
    rhs = (projectors @ origins[..., None]).sum(0)[:, 0] + ridge * origins.mean(0)
    return torch.linalg.solve(lhs, rhs).float()


def visual_hull_bounds(alpha: Tensor, cameras: Cameras, centre: Tensor, half_size: float,
                       resolution: int = CARVE_RESOLUTION) -> tuple[Tensor, Tensor] | None:
    """Box ``(low (3,), high (3,))`` of the visual hull of the ``alpha > 0.5`` masks ``(V, H, W)``.

    Carves a grid over the cube ``centre ± half_size``, then again over the box found, so the
    box is accurate to about ``1 / resolution`` of the object's size. ``None`` if nothing stays.
    """
    low, high = centre - half_size, centre + half_size
    for _ in range(2):
        cell = (high - low) / resolution
        axes = [low[i] + cell[i] * (torch.arange(resolution) + 0.5) for i in range(3)]
        points = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
        occupied = points[_carve(points, alpha, cameras)]
        if not len(occupied):
            return None
        # The surface may lie anywhere up to one cell beyond the outermost occupied points.
        low, high = occupied.min(0).values - cell, occupied.max(0).values + cell
    return low + cell / 2, high - cell / 2


def _carve(points: Tensor, alpha: Tensor, cameras: Cameras, chunk: int = 16) -> Tensor:
    """``(P,)`` bool: inside the silhouette of every view that sees the point, and seen enough."""
    views, height, width = alpha.shape
    seen = torch.zeros(len(points), dtype=torch.int64)
    carved = torch.zeros(len(points), dtype=torch.bool)
    for start in range(0, views, chunk):  # a few views at a time: memory O(P), whatever V is
        pixels, depth = project_points(points, cameras[start:start + chunk])  # (b, P, 2), (b, P)
        u, v = pixels.unbind(-1)
        visible = (depth > 0) & (u >= 0) & (u <= width) & (v >= 0) & (v <= height)
        # Bilinear alpha at the exact projection: sub-pixel silhouettes even on small images.
        grid = torch.stack([2 * u / width - 1, 2 * v / height - 1], dim=-1).nan_to_num(2.0)
        sampled = F.grid_sample(alpha[start:start + chunk, None], grid.clamp(-2, 2)[:, None],
                                mode="bilinear", align_corners=False)[:, 0, 0]  # (b, P)
        seen += visible.sum(0)
        carved |= (visible & (sampled <= MASK_THRESHOLD)).any(0)
    return ~carved & (seen >= max(1, math.ceil(MIN_VIEW_FRACTION * views)))


def _normalisation(alpha: Tensor, cameras: Cameras, options: ImportOptions,
                   where: Path) -> tuple[float, Tensor, str]:
    """``(scale, centre (3,), method)`` such that ``scale * (x - centre)`` fits our cube."""
    axes_centre = nearest_point_to_axes(cameras.camera_to_world)
    positions = cameras.camera_to_world[:, :3, 3]
    distances = (positions - axes_centre).norm(dim=-1)
    if (alpha > MASK_THRESHOLD).all():
        logger.warning("%s: every image is fully opaque, so there is no silhouette to bound the "
                       "object; centring on the point nearest to all optical axes and scaling the "
                       "mean camera distance to %s", where.parent, options.fallback_camera_distance)
        scale = options.fallback_camera_distance / distances.mean().item()
        return scale, axes_centre, "camera_axes"
    bounds = visual_hull_bounds(alpha, cameras, axes_centre, distances.max().item())
    if bounds is None:
        raise InputDataError(
            where, "the visual hull of the alpha masks is empty: cameras and silhouettes disagree",
            "check transform_matrix is camera-to-world looking down -z (NeRF/Blender), or set "
            "recentre: false")
    low, high = bounds
    scale = options.target_half_extent / ((high - low).max().item() / 2)
    return scale, (low + high) / 2, "visual_hull"


def _source_folder(source: str | Path) -> Path:
    path = Path(source).expanduser().resolve()
    if path.is_file():  # a transforms.json given directly
        path = path.parent
    if not path.is_dir():
        raise InputDataError(path, "source folder not found",
                             "pass a folder holding transforms.json or transforms_train.json")
    return path


def _read_source(folder: Path, holdout_every: int) -> tuple[float, list[tuple[Path, Frame]]]:
    """``(fov_x, [(json_path, frame with our split)])`` for the folder's layout."""
    present = [folder / name for name in SPLIT_FILES if (folder / name).is_file()]
    if present:
        if present[0].name != "transforms_train.json":
            raise InputDataError(folder / "transforms_train.json", "missing (the NeRF-synthetic "
                                 "layout needs a train split)", "add it, or merge the frames into "
                                 "one transforms.json")
        if (folder / SINGLE_FILE).is_file():
            logger.warning("%s: using transforms_<split>.json, ignoring %s", folder, SINGLE_FILE)
        files = [(path, _read_checked(path)) for path in present]
        fov_x = files[0][1].fov_x
        sources: list[tuple[Path, Frame]] = []
        for path, transforms in files:
            if not math.isclose(transforms.fov_x, fov_x, rel_tol=0, abs_tol=1e-6):
                raise InputDataError(path, f"camera_angle_x {transforms.fov_x} differs from "
                                     f"{fov_x} in {present[0].name}; an avatar has one field of "
                                     "view", "re-export every split with one camera")
            sources += [(path, replace(f, split=SPLIT_FILES[path.name])) for f in transforms.frames]
        return fov_x, sources
    path = folder / SINGLE_FILE
    if not path.is_file():
        raise InputDataError(path, "not found (nor transforms_train.json)",
                             "point the source at a folder in NeRF-synthetic form")
    transforms = _read_checked(path)
    labelled = any(frame.split is not None for frame in transforms.frames)
    sources = []
    for index, frame in enumerate(transforms.frames):
        if labelled:
            split = SOURCE_SPLITS.get(frame.split or TRAIN_SPLIT)
            if split is None:
                raise InputDataError(path, f"frames[{index}] has split {frame.split!r}, expected "
                                     f"one of {sorted(SOURCE_SPLITS)}")
        else:  # the k-th, 2k-th... frame (1-based), so the first views always train
            held_out = holdout_every and (index + 1) % holdout_every == 0
            split = TEST_SPLIT if held_out else TRAIN_SPLIT
        sources.append((path, replace(frame, split=split)))
    return transforms.fov_x, sources


def _read_checked(path: Path) -> Transforms:
    transforms = read_transforms(path)
    ignored = [key for key in IGNORED_INTRINSICS if key in transforms.extra]
    if ignored:
        logger.warning("%s: ignoring %s; camera_angle_x, square pixels and a centred principal "
                       "point are assumed", path, ignored)
    return transforms


def _resolve_image(folder: Path, file_path: str) -> Path:
    path = image_path_of(folder, file_path)
    # Names like "r_0.001" have a "suffix" that is no extension: try ".png" after it too.
    with_png = folder / (file_path + IMAGE_SUFFIX)
    return with_png if not path.is_file() and with_png.is_file() else path


def _load_images(paths: list[Path], image_size: int | None) -> Tensor:
    """``(V, H, W, 4)`` RGBA of ``paths``, all one size, resized if ``image_size`` is set."""
    images: list[Tensor] = []
    height, width = None, None
    for path in paths:
        image = torch.from_numpy(read_rgba_image(path))
        if height is None:
            height, width = image.shape[:2]  # the first view's size, before any resizing
        if image.shape[:2] != (height, width):
            raise InputDataError(path, f"image is {image.shape[1]}x{image.shape[0]} but "
                                 f"{paths[0].name} is {width}x{height}",
                                 "export every view at one size")
        # Resize as we go: a full-size NeRF-synthetic scene (300 x 800^2 RGBA) is 3 GB as floats.
        images.append(image if image_size is None else resize_rgba(image, image_size))
    return torch.stack(images)
