"""Choosing the checkpoint to resume from: a damaged one is named, with what to do; starting
afresh under SLURM really starts afresh."""

import sys
from pathlib import Path

import pytest
import torch
from lightning_fabric.plugins.environments import SLURMEnvironment
from pytorch_lightning.trainer.connectors import checkpoint_connector

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.training.checkpoints import load_checkpoint_safely
from rodin_pipelines.training.resume import resume_checkpoint
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_model import TinyRegression, regression_data  # noqa: E402


def saved_checkpoint(path: Path) -> bytes:
    model = TinyRegression()
    torch.save({"state_dict": model.state_dict(), "global_step": 7,
                "hyper_parameters": dict(model.hparams)}, path)
    return path.read_bytes()


DAMAGES = {
    "cut in half": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "zip header garbled": lambda data: data[:200] + b"\xff" * 200 + data[400:],
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_checkpoint_is_named_with_what_to_do(tmp_path, damage):
    path = tmp_path / "last.ckpt"
    path.write_bytes(DAMAGES[damage](saved_checkpoint(path)))
    with pytest.raises(InputDataError) as refused:
        load_checkpoint_safely(path)
    assert refused.value.path == path and str(path) in str(refused.value)
    assert "damaged or truncated" in str(refused.value) and "delete it" in str(refused.value)


def test_resume_last_names_the_damaged_newest_checkpoint(tmp_path):
    older = tmp_path / "last.ckpt"
    saved_checkpoint(older)
    newest = tmp_path / "hpc_ckpt_1.ckpt"  # a requeue killed while Lightning wrote it
    newest.write_bytes(older.read_bytes()[:100])
    with pytest.raises(InputDataError) as refused:
        resume_checkpoint(TinyRegression(), "last", str(tmp_path), may_set_aside=True)
    assert str(newest) in str(refused.value)
    assert newest.is_file() and older.is_file()  # nothing skipped or moved silently


class DetectedSLURM(SLURMEnvironment):
    """SLURM as Lightning's checkpoint loading sees it inside an ``sbatch`` job."""

    @staticmethod
    def detect() -> bool:
        return True


def test_resume_null_under_slurm_keeps_lightning_off_a_requeue_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    trained = TrainerSettings(max_steps=20, checkpoint_dir=str(folder), resume=None)
    fit_resumably(build_trainer(trained, enable_progress_bar=False), TinyRegression(), trained,
                  train_dataloaders=regression_data())
    requeue = folder / "hpc_ckpt_1.ckpt"  # what Lightning writes on SLURM's requeue signal
    (folder / "last.ckpt").rename(requeue)
    monkeypatch.setattr(checkpoint_connector, "SLURMEnvironment", DetectedSLURM)

    afresh = TrainerSettings(max_steps=25, checkpoint_dir=str(folder), resume=None)
    model = TinyRegression()
    fit_resumably(build_trainer(afresh, enable_progress_bar=False), model, afresh,
                  train_dataloaders=regression_data())
    assert model.first_step == 0  # not step 20, the requeue checkpoint's
    assert not list(folder.glob("hpc_ckpt_*"))
    assert [path.name for path in folder.glob("stale-*/*")] == ["hpc_ckpt_1.ckpt"]  # kept
