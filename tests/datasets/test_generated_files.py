"""Generated results are written as whole folders under the dataset's path, and nowhere else."""

from pathlib import Path

import pytest
import torch
import trimesh
from kedro.io import DatasetError

from rodin_pipelines.datasets.generated_files import GeneratedAvatarsDataset
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

