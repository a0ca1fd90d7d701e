"""A checkpoint carrying pickled code is refused, unread, everywhere a user can name one: the
trainer's ``resume`` path, a ``last.ckpt`` put in the checkpoint folder, a CLIP checkpoint. The
refusal names the file and says it will not be loaded (torch's own advises switching the
safety off)."""

import sys
from pathlib import Path

import pytest
import torch

from rodin_pipelines.errors import UnsafeCheckpointError
from rodin_pipelines.models.clip_loader import ClipChoice, load_clip
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably

sys.path.insert(0, str(Path(__file__).resolve().parent / "training"))
from tiny_model import TinyRegression, regression_data  # noqa: E402


class CreatesAFileWhenUnpickled:
    """Stands for any payload: unpickling it calls ``open(marker, "w")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def malicious_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"state_dict": {"layer.weight": torch.zeros(1, 1)}, "global_step": 5,
                "payload": CreatesAFileWhenUnpickled(marker)}, path)
    return path


def assert_refused_unread(refused: pytest.ExceptionInfo, path: Path, marker: Path) -> None:
    message = str(refused.value)
    assert refused.value.path == path and str(path) in message
    assert "will not be loaded" in message and "io.open" in message
    assert "weights_only` set to `False`" not in message  # no advice to switch safety off
    assert not marker.exists()


@pytest.mark.parametrize("named", ["resume path", "last.ckpt"])
def test_training_refuses_to_resume_from_a_checkpoint_carrying_code(tmp_path, named):
    marker = tmp_path / "code-ran"
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    if named == "resume path":
        bad = malicious_checkpoint(tmp_path / "downloaded.ckpt", marker)
        settings = TrainerSettings(max_steps=5, checkpoint_dir=str(checkpoints), resume=str(bad))
    else:
        bad = malicious_checkpoint(checkpoints / "last.ckpt", marker)
        settings = TrainerSettings(max_steps=5, checkpoint_dir=str(checkpoints))
    trainer = build_trainer(settings, enable_progress_bar=False)
    with pytest.raises(UnsafeCheckpointError) as refused:
        fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
    assert_refused_unread(refused, Path(str(bad)), marker)


def test_a_clip_checkpoint_carrying_code_is_refused(tmp_path):
    marker = tmp_path / "code-ran"
    bad = malicious_checkpoint(tmp_path / "clip.pt", marker)
    with pytest.raises(UnsafeCheckpointError) as refused:
        load_clip(ClipChoice(checkpoint=str(bad)))
    assert_refused_unread(refused, bad, marker)
