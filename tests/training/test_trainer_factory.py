"""The shared trainer factory: resume after a kill, safe checkpoints, DDP, MLflow."""

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import pytest
import pytorch_lightning as pl
import torch

from rodin_pipelines.training.checkpoints import resume_path
from rodin_pipelines.training.trainer_factory import (
    TrainerSettings,
    build_trainer,
    fit_resumably,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tiny_model import TinyRegression, regression_data  # noqa: E402


def settings_in(folder: Path, **changes) -> TrainerSettings:
    defaults = dict(max_steps=40, checkpoint_dir=str(folder / "checkpoints"),
                    checkpoint_every_n_steps=10, log_every_n_steps=5)
    return TrainerSettings(**{**defaults, **changes})


def quiet(**options):
    return dict(enable_progress_bar=False, **options)


KILLED_TRAINING = textwrap.dedent("""
    import os, sys
    import pytorch_lightning as pl
    sys.path.insert(0, sys.argv[2])
    from tiny_model import TinyRegression, regression_data
    from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably

    class Kill(pl.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 25:
                os._exit(9)  # like a SIGKILL: no cleanup, no final checkpoint

    settings = TrainerSettings(max_steps=40, checkpoint_dir=sys.argv[1],
                               checkpoint_every_n_steps=10, log_every_n_steps=5)
    trainer = build_trainer(settings, callbacks=[Kill()], enable_progress_bar=False)
    fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
""")


def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    settings = settings_in(tmp_path)
    killed = subprocess.run([sys.executable, "-c", KILLED_TRAINING, settings.checkpoint_dir,
                             str(HERE)], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr[-2000:]
    last = Path(settings.checkpoint_dir) / "last.ckpt"
    saved = torch.load(last, weights_only=True)
    assert saved["global_step"] == 20

    class WeightsAtStart(pl.Callback):
        def on_train_start(self, trainer, module):
            self.weight = module.layer.weight.detach().clone()

    start = WeightsAtStart()
    model = TinyRegression()
    trainer = build_trainer(settings, callbacks=[start], **quiet())
    fit_resumably(trainer, model, settings, train_dataloaders=regression_data())
    assert torch.equal(start.weight, saved["state_dict"]["layer.weight"])
    assert model.first_step == 20 and trainer.global_step == 40
    assert not list(Path(settings.checkpoint_dir).glob(".tmp-*"))


def test_checkpoints_load_with_weights_only(tmp_path):
    settings = settings_in(tmp_path, max_steps=10, resume=None)
    trainer = build_trainer(settings, **quiet())
    fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
    state = torch.load(Path(settings.checkpoint_dir) / "last.ckpt", weights_only=True)
    assert set(state["state_dict"]) == {"layer.weight", "layer.bias"}


def test_a_named_checkpoint_that_is_missing_is_an_explicit_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint to resume from not found"):
        resume_path(str(tmp_path / "nope.ckpt"), tmp_path)
    assert resume_path("last", tmp_path) is None  # nothing to resume: start afresh
    assert resume_path(None, tmp_path) is None


def test_metrics_go_to_the_active_mlflow_run(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = settings_in(tmp_path, max_steps=10, resume=None)
    with mlflow.start_run() as run:
        trainer = build_trainer(settings, **quiet())
        fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "train/loss")
    assert len(history) >= 2


def test_a_tracking_store_failing_during_training_is_a_warning(tmp_path, monkeypatch, caplog):
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = settings_in(tmp_path, max_steps=10, resume=None)

    def locked(*args, **kwargs):  # another run holds the SQLite store
        raise MlflowException("database is locked")

    with mlflow.start_run():
        trainer = build_trainer(settings, **quiet())
        monkeypatch.setattr(mlflow.MlflowClient, "log_batch", locked)
        fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
    assert trainer.global_step == 10
    assert caplog.text.count("training goes on without tracking") == 1
    assert "database is locked" in caplog.text


def test_a_training_survives_a_store_another_process_holds_locked(tmp_path, caplog):
    """The real failure, not a stand-in: another connection holds the SQLite store's write lock
    for the whole training (as a second run writing to one ``mlflow.db`` does)."""
    store = tmp_path / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    settings = settings_in(tmp_path, max_steps=10, resume=None)
    with mlflow.start_run():
        trainer = build_trainer(settings, **quiet())
        other = sqlite3.connect(store, timeout=0, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            fit_resumably(trainer, TinyRegression(), settings,
                          train_dataloaders=regression_data())
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert trainer.global_step == 10
    assert caplog.text.count("training goes on without tracking") == 1
    assert "locked" in caplog.text


def test_two_process_ddp_keeps_weights_identical_and_noise_different(tmp_path):
    record = tmp_path / "record"
    record.mkdir()
    settings = settings_in(tmp_path, max_steps=12, resume=None, devices=2,
                           strategy="ddp_spawn")
    trainer = build_trainer(settings, **quiet())
    fit_resumably(trainer, TinyRegression(record=str(record)), settings)
    result = json.loads((record / "weights.json").read_text())
    assert result["world_size"] == 2 and result["max_rank_difference"] == 0.0
    noise = [json.loads((record / f"noise-rank{r}.json").read_text()) for r in range(2)]
    assert noise[0] != noise[1]


def test_resume_last_starts_afresh_when_the_hyperparameters_changed(tmp_path):
    settings = settings_in(tmp_path, max_steps=10)
    first = TinyRegression(learning_rate=0.05)
    fit_resumably(build_trainer(settings, **quiet()), first, settings,
                  train_dataloaders=regression_data())
    same = TinyRegression(learning_rate=0.05)
    fit_resumably(build_trainer(settings, **quiet()), same, settings,
                  train_dataloaders=regression_data())
    assert same.first_step is None  # resumed at the finished step 10: nothing left to train
    changed = TinyRegression(learning_rate=0.01)
    fit_resumably(build_trainer(settings, **quiet()), changed, settings,
                  train_dataloaders=regression_data())
    assert changed.first_step == 0  # started afresh instead of loading the other config's run
    folder = Path(settings.checkpoint_dir)
    assert torch.load(folder / "last.ckpt", weights_only=True)["hyper_parameters"][
        "learning_rate"] == 0.01  # overwritten in place, no last-v1.ckpt beside a stale one
    assert not list(folder.glob("*-v1.ckpt"))
    assert len(list(folder.glob("stale-*/last.ckpt"))) == 1


def test_resume_last_takes_a_slurm_requeue_checkpoint_newer_than_last_ckpt(tmp_path):
    import os

    last, hpc = tmp_path / "last.ckpt", tmp_path / "hpc_ckpt_1.ckpt"
    last.write_bytes(b"step 5000")
    hpc.write_bytes(b"step 9000")  # written on SIGUSR1 before the requeue
    os.utime(last, ns=(1_000_000_000, 1_000_000_000))
    assert resume_path("last", tmp_path) == str(hpc)
    os.utime(last, None)  # the resumed run has since written last.ckpt again
    assert resume_path("last", tmp_path) == str(last)


def test_under_torchrun_only_rank_zero_sets_stale_checkpoints_aside(tmp_path):
    """torchrun and SLURM start every rank at once, each calling fit_resumably: rank zero alone
    decides to start afresh and moves the stale checkpoints, the others wait for its decision
    (before, every rank read and renamed the same files: one crashed or trained on a moved file)."""
    import socket

    import torch.multiprocessing

    from launched_ranks import resume_on_launched_rank

    settings = settings_in(tmp_path, max_steps=6, checkpoint_every_n_steps=3)
    fit_resumably(build_trainer(settings, **quiet()), TinyRegression(learning_rate=0.05),
                  settings, train_dataloaders=regression_data())
    record = tmp_path / "record"
    record.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.spawn(
        resume_on_launched_rank, nprocs=2, join=True,
        args=(2, port, settings.checkpoint_dir, str(record), 0.01))
    assert sorted(p.name for p in record.glob("set-aside-rank*")) == ["set-aside-rank0"]
    assert not (record / "read-rank1").exists()  # rank 1 never touched the files being moved
    assert [json.loads((record / f"first-step-rank{r}.json").read_text()) for r in (0, 1)] == [
        0, 0]  # both started afresh together
    folder = Path(settings.checkpoint_dir)
    assert len(list(folder.glob("stale-*/last.ckpt"))) == 1
    assert torch.load(folder / "last.ckpt", weights_only=True)["hyper_parameters"][
        "learning_rate"] == 0.01
