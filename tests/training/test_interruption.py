"""A training stopped by SIGTERM or Ctrl-C saves ``last.ckpt`` at a step boundary and raises
:class:`TrainingInterrupted` (exit status 128 + signal), and the next run resumes there."""

import os
import signal
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from rodin_pipelines.training.interruption import TrainingInterrupted
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer, fit_resumably

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from tiny_model import TinyRegression, regression_data  # noqa: E402


class SignalAtStep(pl.Callback):
    """Sends ``signum`` to this process after step ``step``, as ``kill``/``scancel`` would."""

    def __init__(self, signum: int, step: int) -> None:
        self.signum, self.step = signum, step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


def saved_step(path: Path) -> int:
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_the_step_and_a_rerun_resumes_there(tmp_path, signum):
    settings = TrainerSettings(max_steps=40, checkpoint_dir=str(tmp_path / "checkpoints"),
                               checkpoint_every_n_steps=100, log_every_n_steps=5)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    trainer = build_trainer(settings, callbacks=[SignalAtStep(signum, 7)],
                            enable_progress_bar=False)
    with pytest.raises(TrainingInterrupted) as stopped:
        fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
    interrupted = stopped.value
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers
    assert interrupted.signal_number == signum and interrupted.exit_code == 128 + signum
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert interrupted.checkpoint == last and interrupted.step == saved_step(last) == 7
    assert signal.Signals(signum).name in str(interrupted) and "run the same command" in \
        str(interrupted)

    resumed = build_trainer(settings, enable_progress_bar=False)
    model = TinyRegression()
    fit_resumably(resumed, model, settings, train_dataloaders=regression_data())
    assert model.first_step == 7 and saved_step(last) == 40


class SecondCtrlCMidStep(pl.Callback):
    """A KeyboardInterrupt inside step ``step`` (what a second Ctrl-C raises)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_before_optimizer_step(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


def test_an_immediate_ctrl_c_saves_nothing_mid_step_and_names_the_last_checkpoint(tmp_path):
    settings = TrainerSettings(max_steps=40, checkpoint_dir=str(tmp_path / "checkpoints"),
                               checkpoint_every_n_steps=5, log_every_n_steps=5)
    trainer = build_trainer(settings, callbacks=[SecondCtrlCMidStep(7)],
                            enable_progress_bar=False)
    with pytest.raises(TrainingInterrupted) as stopped:
        fit_resumably(trainer, TinyRegression(), settings, train_dataloaders=regression_data())
    last = tmp_path / "checkpoints" / "last.ckpt"
    assert stopped.value.exit_code == 130
    assert stopped.value.checkpoint == last and stopped.value.step == saved_step(last) == 5
