"""The avatar folder layout: round trip, atomic writes, validation."""

import pytest
import torch

from rodin_pipelines.avatars.folder import (
    AvatarViews,
    finished_avatar_ids,
    read_avatar_folder,
    write_avatar_folder,
)
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.rendering.cameras import orbit_camera_to_world
from rodin_pipelines.rendering.transforms_json import Frame, Transforms, read_transforms


def small_avatar(avatar_id: str = "a", views: int = 3) -> AvatarViews:
    images = torch.rand(views, 8, 10, 4)
    matrices = orbit_camera_to_world(torch.linspace(0, 1, views), torch.zeros(views), 3.0)
    frames = tuple(Frame("", m, s) for m, s in zip(matrices, ["frontal", "train", "test"]))
    return AvatarViews(avatar_id, images, Transforms(0.7, frames), {"hat": "cap"},
                       ["a caption", "a paraphrase"], {"source": "test"})


def test_round_trip_keeps_cameras_splits_and_pixels(tmp_path):
    avatar = small_avatar()
    write_avatar_folder(tmp_path / "a", avatar)
    back = read_avatar_folder(tmp_path / "a")
    assert torch.allclose(back.images, avatar.images, atol=0.5 / 255 + 1e-6)
    assert [f.split for f in back.transforms.frames] == ["frontal", "train", "test"]
    for original, read in zip(avatar.transforms.frames, back.transforms.frames):
        assert torch.allclose(original.camera_to_world, read.camera_to_world, atol=1e-6)
    assert back.attributes == {"hat": "cap"} and back.captions == ["a caption", "a paraphrase"]
    assert back.cameras().width == 10 and back.cameras().height == 8
    assert read_transforms(tmp_path / "a" / "transforms.json").frames[1].file_path == "images/001"


def test_a_failed_write_leaves_no_folder_and_keeps_the_previous_one(tmp_path):
    write_avatar_folder(tmp_path / "a", small_avatar())
    broken = small_avatar()
    broken.images = torch.rand(2, 8, 10, 4)  # two images for three frames
    with pytest.raises(ValueError):
        write_avatar_folder(tmp_path / "a", broken)
    assert read_avatar_folder(tmp_path / "a").images.shape[0] == 3
    assert finished_avatar_ids(tmp_path) == ["a"]


def test_missing_folder_and_stray_image_are_named(tmp_path):
    with pytest.raises(InputDataError, match="avatar folder not found"):
        read_avatar_folder(tmp_path / "nope")
    write_avatar_folder(tmp_path / "a", small_avatar())
    (tmp_path / "a" / "images" / "999.png").write_bytes(
        (tmp_path / "a" / "images" / "000.png").read_bytes())
    with pytest.raises(InputDataError, match="frame count mismatch") as error:
        read_avatar_folder(tmp_path / "a")
    assert error.value.path.name == "transforms.json"


def test_corrupt_image_in_an_avatar_folder_names_the_file(tmp_path):
    write_avatar_folder(tmp_path / "a", small_avatar())
    (tmp_path / "a" / "images" / "001.png").write_bytes(b"not a png")
    with pytest.raises(InputDataError, match="corrupt") as error:
        read_avatar_folder(tmp_path / "a")
    assert error.value.path.name == "001.png"
