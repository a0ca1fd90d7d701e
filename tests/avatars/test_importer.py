"""The importer turns a NeRF-synthetic folder into our avatar folder; these tests are examples.

Sources are built in ``tmp_path``: cameras from ``orbit_camera_to_world`` and images of a sphere
whose silhouette is rendered analytically (ray-sphere tests through each pixel centre, the same
pixel convention as ``project_points``).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rodin_pipelines.avatars.folder import read_avatar_folder, write_avatar_folder
from rodin_pipelines.avatars.importer import (
    UpAxis,
    fingerprint_of_import,
    import_nerf_synthetic,
    resize_rgba,
)
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.avatars.import_jobs import import_job
from rodin_pipelines.pipelines.ingest.pipeline import create_pipeline
from rodin_pipelines.rendering.cameras import (
    Cameras,
    frontal_camera_to_world,
    look_at_camera_to_world,
    orbit_camera_to_world,
    project_points,
    rigidity_problem,
)

FOV_X = 0.9
COLOUR = (1.0, 0.2, 0.4)  # exact in 8 bits: 255, 51, 102
OFF_CENTRE = (0.5, 0.2, -0.3)
RADIUS = 0.4


def orbit(views: int = 12, radius: float = 3.5) -> torch.Tensor:
    """``(V, 4, 4)`` cameras all around the origin at three elevations (-34°, 0°, +34°)."""
    azimuth = torch.linspace(0, 2 * math.pi, views + 1)[:-1]
    elevation = torch.tensor([-0.6, 0.0, 0.6]).repeat(views)[:views]
    return orbit_camera_to_world(azimuth, elevation, radius)


def sphere_images(matrices: torch.Tensor, size: int, centre=(0.0, 0.0, 0.0), radius=RADIUS,
                  supersample: int = 4) -> np.ndarray:
    """``(V, size, size, 4)`` RGBA: a ``COLOUR`` sphere, anti-aliased alpha, black background."""
    cameras = Cameras(matrices, FOV_X, size, size)
    offsets = (torch.arange(supersample) + 0.5) / supersample
    grid = (torch.arange(size)[:, None] + offsets[None]).reshape(-1)  # sub-pixel positions
    v, u = torch.meshgrid(grid, grid, indexing="ij")
    focal = cameras.focal_length
    directions = torch.stack([(u - size / 2) / focal, -(v - size / 2) / focal,
                              -torch.ones_like(u)], dim=-1)  # camera looks down -z, v grows down
    directions = torch.nn.functional.normalize(directions, dim=-1)
    alphas = []
    for matrix in matrices:
        world = directions @ matrix[:3, :3].T
        to_centre = torch.tensor(centre) - matrix[:3, 3]
        along = world @ to_centre
        miss = (to_centre.norm() ** 2 - along**2) > radius**2
        hit = (~miss & (along > 0)).float()
        alphas.append(hit.reshape(size, supersample, size, supersample).mean(dim=(1, 3)))
    alpha = torch.stack(alphas)[..., None]
    rgb = torch.tensor(COLOUR).expand(*alpha.shape[:3], 3) * (alpha > 0)  # black where empty
    return torch.cat([rgb, alpha], dim=-1).numpy()


def save_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)


def write_split_source(folder: Path, matrices: torch.Tensor, images: np.ndarray,
                       fovs=(FOV_X, FOV_X, FOV_X)) -> Path:
    """NeRF-synthetic layout: views 0-7 train, 8-9 val, 10-11 test; ``./train/r_0`` (no .png)."""
    parts = {"train": range(0, 8), "val": range(8, 10), "test": range(10, 12)}
    for (name, indices), fov in zip(parts.items(), fovs):
        frames = []
        for index in indices:
            save_png(folder / name / f"r_{index}.png", images[index])
            frames.append({"file_path": f"./{name}/r_{index}", "rotation": 0.0,
                           "transform_matrix": matrices[index].tolist()})
        payload = {"camera_angle_x": fov, "frames": frames}
        (folder / f"transforms_{name}.json").write_text(json.dumps(payload))
    return folder


def write_single_source(folder: Path, matrices: torch.Tensor, images: np.ndarray,
                        splits: list[str] | None = None) -> Path:
    """One transforms.json, ``file_path`` with ``.png``, optional per-frame ``split``."""
    frames = []
    for index, (matrix, image) in enumerate(zip(matrices, images)):
        save_png(folder / "images" / f"frame_{index:03d}.png", image)
        frame = {"file_path": f"images/frame_{index:03d}.png", "transform_matrix": matrix.tolist()}
        if splits is not None:
            frame["split"] = splits[index]
        frames.append(frame)
    payload = {"camera_angle_x": FOV_X, "frames": frames}
    (folder / "transforms.json").write_text(json.dumps(payload))
    return folder


@pytest.fixture
def split_source(tmp_path: Path) -> Path:
    matrices = orbit()
    return write_split_source(tmp_path / "lego", matrices, sphere_images(matrices, 32))


def test_split_files_round_trip_cameras_fov_and_splits(split_source: Path, tmp_path: Path):
    avatar = import_nerf_synthetic(split_source, recentre=False)

    assert avatar.avatar_id == "lego"  # the source folder's name
    assert avatar.images.shape == (12, 32, 32, 4)
    assert torch.allclose(avatar.transforms.cameras().camera_to_world, orbit(), atol=1e-5)
    assert avatar.transforms.fov_x == pytest.approx(FOV_X, abs=1e-5)
    assert [f.split for f in avatar.transforms.frames] == ["train"] * 8 + ["test"] * 4  # val, test
    assert avatar.meta == {"source": "imported", "source_path": str(split_source.resolve()),
                           "split": "train", "recentre": False, "scale": 1.0,
                           "translation": [0.0, 0.0, 0.0], "up_axis": "y", "centre_method": None}
    # The pixels are the PNGs' own: the sphere's colour, alpha from the silhouette.
    expected = sphere_images(orbit(), 32)
    assert np.abs(avatar.images.numpy() - np.round(expected * 255) / 255).max() < 1e-6

    write_avatar_folder(tmp_path / "avatars" / "lego", avatar)
    again = read_avatar_folder(tmp_path / "avatars" / "lego")
    assert torch.allclose(again.cameras().camera_to_world, orbit(), atol=1e-5)
    assert again.transforms.fov_x == pytest.approx(FOV_X, abs=1e-5)
    assert again.split_indices("test") == [8, 9, 10, 11]


def test_single_transforms_json_holds_out_every_kth_frame(tmp_path: Path):
    matrices = orbit()
    source = write_single_source(tmp_path / "scan", matrices, sphere_images(matrices, 32))

    avatar = import_nerf_synthetic(source, recentre=False, holdout_every=4, caption="a red ball")

    assert avatar.split_indices("test") == [3, 7, 11]  # the 4th, 8th and 12th views
    assert len(avatar.split_indices("train")) == 9
    assert torch.allclose(avatar.transforms.cameras().camera_to_world, matrices, atol=1e-5)
    assert avatar.captions == ["a red ball"]


def test_single_transforms_json_keeps_given_splits(tmp_path: Path):
    matrices = orbit()
    splits = ["train", "val", "test", "train"] * 3
    source = write_single_source(tmp_path / "scan", matrices, sphere_images(matrices, 32), splits)

    avatar = import_nerf_synthetic(source, recentre=False)

    assert avatar.split_indices("test") == [1, 2, 5, 6, 9, 10]  # val counts as held out


def test_recentre_moves_an_off_centre_sphere_to_the_origin_at_the_target_size(tmp_path: Path):
    matrices = orbit()
    images = sphere_images(matrices, 64, centre=OFF_CENTRE)
    source = write_single_source(tmp_path / "ball", matrices, images)

    avatar = import_nerf_synthetic(source, target_half_extent=0.8)

    scale, translation = avatar.meta["scale"], torch.tensor(avatar.meta["translation"])
    new_centre = scale * torch.tensor(OFF_CENTRE) + translation
    assert avatar.meta["centre_method"] == "visual_hull"
    # Within the carving grid (about 1/48 of the object) and the hull's slight excess over a
    # sphere seen from 12 views.
    assert new_centre.norm().item() < 0.03
    assert scale * RADIUS == pytest.approx(0.8, abs=0.04)
    # A similarity moves points and cameras together: every pixel keeps its meaning.
    point = torch.tensor([[0.6, 0.5, -0.1]])
    before, _ = project_points(point, Cameras(matrices, FOV_X, 64, 64))
    after, _ = project_points(scale * point + translation, avatar.cameras())
    assert torch.allclose(before, after, atol=1e-3)
    assert all(rigidity_problem(m) is None for m in avatar.transforms.cameras().camera_to_world)


def test_opaque_images_fall_back_to_the_cameras_axes(tmp_path: Path, caplog):
    matrices = orbit(radius=2.5)
    matrices[:, :3, 3] += torch.tensor([1.0, 2.0, 3.0])  # the cameras look at (1, 2, 3)
    rgb = sphere_images(matrices, 32)[..., :3]  # RGB PNGs: no alpha at all
    source = write_single_source(tmp_path / "photos", matrices, rgb)

    with caplog.at_level(logging.WARNING):
        avatar = import_nerf_synthetic(source, fallback_camera_distance=4.0)

    assert "fully opaque" in caplog.text
    assert avatar.meta["centre_method"] == "camera_axes"
    assert torch.all(avatar.images[..., 3] == 1.0)
    positions = avatar.cameras().camera_to_world[:, :3, 3]
    expected = (matrices[:, :3, 3] - torch.tensor([1.0, 2.0, 3.0])) * 4.0 / 2.5
    assert torch.allclose(positions, expected, atol=1e-4)
    assert positions.norm(dim=-1).mean().item() == pytest.approx(4.0, abs=1e-4)


def test_blender_z_up_front_camera_becomes_our_frontal_camera(tmp_path: Path):
    # Blender's front view: camera on -y looking towards +y, +z up.
    blender = look_at_camera_to_world(torch.tensor([[0.0, -4.0, 0.0]]), torch.zeros(1, 3),
                                      up=(0.0, 0.0, 1.0))
    source = write_single_source(tmp_path / "blend", blender, np.ones((1, 8, 8, 4)))

    avatar = import_nerf_synthetic(source, recentre=False, up_axis="z")

    assert avatar.meta["up_axis"] == UpAxis.Z.value
    assert torch.allclose(avatar.transforms.frames[0].camera_to_world,
                          frontal_camera_to_world(4.0)[0], atol=1e-5)


def test_image_size_downsamples_without_dark_fringes(split_source: Path):
    source_alpha = import_nerf_synthetic(split_source, recentre=False).images[..., 3]

    avatar = import_nerf_synthetic(split_source, recentre=False, image_size=16)

    assert avatar.images.shape == (12, 16, 16, 4)
    assert avatar.transforms.fov_x == pytest.approx(FOV_X, abs=1e-6)  # fov is size-independent
    # Area-like filtering keeps the silhouette's coverage.
    coverage = avatar.images[..., 3].mean().item()
    assert coverage == pytest.approx(source_alpha.mean().item(), abs=1e-4)
    # Edge pixels keep the object's colour: the black background never bleeds in.
    covered = avatar.images[..., 3] > 0.01
    assert covered.sum() > 100
    assert torch.allclose(avatar.images[covered][:, :3], torch.tensor(COLOUR), atol=1e-4)


def test_resize_keeps_the_aspect_ratio_of_non_square_images():
    image = torch.rand(20, 40, 4)
    assert resize_rgba(image, 10).shape == (5, 10, 4)  # width = image_size, height follows


def test_fingerprint_changes_with_options_and_files(split_source: Path):
    first = fingerprint_of_import(split_source)
    assert fingerprint_of_import(split_source, recentre=True) == first  # defaults are defaults
    assert fingerprint_of_import(split_source, image_size=16) != first
    test_file = split_source / "transforms_test.json"
    test_file.write_text(test_file.read_text().replace('"rotation": 0.0', '"rotation": 1.0'))
    assert fingerprint_of_import(split_source) != first


# Bad inputs: each raises InputDataError naming the offending file.


def _rewrite_json(path: Path, edit) -> None:
    payload = json.loads(path.read_text())
    edit(payload)
    path.write_text(json.dumps(payload))  # json writes NaN as NaN, as some exporters do


def _scale_first_rotation(payload):  # a scaled rotation: not a rigid camera
    row = payload["frames"][0]["transform_matrix"][0]
    row[:3] = [2 * x for x in row[:3]]


def _nan_in_first_matrix(payload):
    payload["frames"][0]["transform_matrix"][1][3] = float("nan")


def _json_edit(edit):
    return lambda path: _rewrite_json(path, edit)


BAD_INPUTS = {  # case: (the file to damage and to find in the message, the damage)
    "corrupt png": ("train/r_1.png", lambda path: path.write_bytes(b"not a png at all")),
    "missing image": ("val/r_8.png", lambda path: path.unlink()),
    "non-rigid matrix": ("transforms_train.json", _json_edit(_scale_first_rotation)),
    "non-finite matrix": ("transforms_test.json", _json_edit(_nan_in_first_matrix)),
    "no camera_angle_x": ("transforms_val.json", _json_edit(lambda d: d.pop("camera_angle_x"))),
    "no frames": ("transforms_test.json", _json_edit(lambda d: d.pop("frames"))),
    "no transform_matrix": ("transforms_train.json",
                            _json_edit(lambda d: d["frames"][3].pop("transform_matrix"))),
    "fov differs": ("transforms_val.json", _json_edit(lambda d: d.update(camera_angle_x=0.7))),
    "width not a number": ("transforms_train.json", _json_edit(lambda d: d.update(w="abc"))),
    "height zero": ("transforms_test.json", _json_edit(lambda d: d.update(h=0))),
    "fov a boolean": ("transforms_train.json", _json_edit(lambda d: d.update(camera_angle_x=True))),
    "image above the folder": ("transforms_train.json", _json_edit(
        lambda d: d["frames"][0].update(file_path="../secret"))),
    "image at an absolute path": ("transforms_val.json", _json_edit(
        lambda d: d["frames"][0].update(file_path="/etc/hostname"))),
    "image path not a string": ("transforms_test.json", _json_edit(
        lambda d: d["frames"][0].update(file_path=7))),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_names_the_offending_file(split_source: Path, case: str):
    relative, damage = BAD_INPUTS[case]
    damage(split_source / relative)

    with pytest.raises(InputDataError) as raised:
        import_nerf_synthetic(split_source, recentre=False)

    assert raised.value.path == split_source.resolve() / relative
    assert str(split_source.resolve() / relative) in str(raised.value)


def test_images_of_different_sizes_are_rejected(split_source: Path):
    save_png(split_source / "test" / "r_11.png", np.zeros((16, 16, 4)))
    with pytest.raises(InputDataError, match=r"r_11.png: image is 16x16 but r_0.png is 32x32"):
        import_nerf_synthetic(split_source, recentre=False)


def test_folder_without_transforms_json_is_rejected(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="transforms.json: not found"):
        import_nerf_synthetic(tmp_path / "empty")


def test_silhouettes_that_no_point_satisfies_are_rejected_when_recentring(tmp_path: Path):
    matrices = orbit()
    source = write_single_source(tmp_path / "void", matrices, np.zeros((12, 32, 32, 4)))
    with pytest.raises(InputDataError, match="visual hull of the alpha masks is empty"):
        import_nerf_synthetic(source)  # fully transparent views: nothing to bound


def test_avatar_folder_with_a_stray_image_is_rejected(split_source: Path, tmp_path: Path):
    folder = tmp_path / "avatars" / "lego"
    write_avatar_folder(folder, import_nerf_synthetic(split_source, recentre=False))
    shutil.copy(folder / "images" / "000.png", folder / "images" / "999.png")

    mismatch = "frame count mismatch: 12 frames listed but 13"
    with pytest.raises(InputDataError, match=mismatch) as raised:
        read_avatar_folder(folder)
    assert raised.value.path == folder / "transforms.json"


# The Kedro node: thin glue around the importer, resumable through the dataset.


def test_node_without_source_says_how_to_pass_it():
    with pytest.raises(ValueError, match=r"pass --params ingest.source=PATH"):
        import_job({"source": None, "split": "train"})


def test_node_rejects_misspelt_parameters(split_source: Path):
    with pytest.raises(ValueError, match="unknown ingest parameters"):
        import_job({"source": str(split_source), "image_sise": 16})


def test_node_imports_once_then_skips_an_unchanged_source(tmp_path: Path):
    matrices = orbit()
    source = write_single_source(tmp_path / "My Scan (v2)", matrices, sphere_images(matrices, 32))
    params = {"source": str(source), "avatar_id": None, "split": "test", "recentre": False,
              "image_size": 16, "up_axis": "y", "caption": "a ball"}
    dataset = AvatarFolderDataset(str(tmp_path / "avatars"), progress=False)

    dataset.save(import_job(params))
    dataset.save(import_job(params))

    assert dataset.last_save.skipped == ("My_Scan_v2",)  # the folder name, made safe
    avatar = dataset.load()["My_Scan_v2"]()
    assert avatar.images.shape == (12, 16, 16, 4)
    assert avatar.captions == ["a ball"]
    assert avatar.meta["split"] == "test"
    assert avatar.meta["fingerprint"] == fingerprint_of_import(
        source, avatar_id="My_Scan_v2", split="test", recentre=False, image_size=16,
        caption="a ball",
    )


def test_pipeline_reads_the_ingest_parameters_and_writes_avatars():
    (node,) = create_pipeline().nodes
    assert node.inputs == ["params:ingest"]
    assert node.outputs == ["avatars"]
