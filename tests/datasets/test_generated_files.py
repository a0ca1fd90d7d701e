"""Generated results are written as whole folders under the dataset's path, and nowhere else."""

from pathlib import Path

import pytest
import torch
import trimesh
from kedro.io import DatasetError

from rodin_pipelines.datasets.generated_files import FILES, GeneratedAvatarsDataset
from rodin_pipelines.generation.outputs import GeneratedAvatar


def tiny_avatar(with_mesh: bool) -> GeneratedAvatar:
    mesh = trimesh.creation.box() if with_mesh else None
    description = {"mode": "unconditional"} if with_mesh else {"mesh": "none: empty field"}
    return GeneratedAvatar(planes=torch.zeros(3, 2, 4, 4), views=torch.rand(2, 8, 8, 4),
                           turntable=torch.rand(2, 16, 16, 4), mesh=mesh,
                           description=description)


@pytest.mark.parametrize("name", ["../escaped", "{tmp}/escaped-absolute", ".."])
def test_a_name_outside_the_results_folder_is_refused_before_any_write(tmp_path: Path,
                                                                        name: str) -> None:
    results = tmp_path / "data" / "generated"
    name = name.format(tmp=tmp_path)
    with pytest.raises(DatasetError, match="plain folder name"):  # Kedro wraps save errors
        GeneratedAvatarsDataset(str(results), artifact_path=None).save(
            {name: tiny_avatar(with_mesh=False)})
    assert not (tmp_path / "data" / "escaped").exists()
    assert not (tmp_path / "escaped-absolute").exists()


def test_saving_again_replaces_the_whole_result_folder(tmp_path: Path) -> None:
    dataset = GeneratedAvatarsDataset(str(tmp_path), artifact_path=None)
    dataset.save({"avatar-00": tiny_avatar(with_mesh=True)})
    assert (tmp_path / "avatar-00" / "mesh.glb").is_file()

    dataset.save({"avatar-00": tiny_avatar(with_mesh=False)})
    # The description says there is no mesh: a mesh from the earlier result must not remain.
    assert sorted(p.name for p in (tmp_path / "avatar-00").iterdir()) == sorted(FILES)
    assert dataset.load() == ["avatar-00"]
    assert [p.name for p in tmp_path.iterdir()] == ["avatar-00"]  # no temporaries left

    # A complete folder still under its temporary name (a write killed before the swap) is
    # not a result.
    (tmp_path / "avatar-00").rename(tmp_path / ".tmp-avatar-01~host~1~abc")
    assert dataset.load() == []
