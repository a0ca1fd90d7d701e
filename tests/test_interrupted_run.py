"""``kedro run`` of a training stage stopped by SIGTERM (``scancel``, preemption) mid-training
exits 143, not 0, says how to resume, and the rerun continues from the saved step."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).with_name("kedro"))
CHECKPOINTS = Path("data/06_models/clip/checkpoints")
ONLY_THE_CLIP = ("--pipeline", "encoder", "--to-nodes", "train_domain_clip")


def environment() -> dict[str, str]:
    # The test profile's own SQLite store, unless a test points tracking elsewhere.
    variables = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    # Wide log lines: rich would otherwise wrap a path across lines.
    return {**variables, "KEDRO_DISABLE_TELEMETRY": "true", "HF_HUB_OFFLINE": "1",
            "COLUMNS": "400"}


def kedro(project: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([KEDRO, "run", "--env", "test", *args], cwd=project,
                          capture_output=True, text=True, env=environment(), timeout=timeout)


def test_a_training_stopped_by_sigterm_fails_the_run_and_the_rerun_resumes(project_copy,
                                                                           subprocess_timeout):
    started = time.monotonic()
    rendered = kedro(project_copy, "--pipeline", "render", timeout=subprocess_timeout)
    assert rendered.returncode == 0, rendered.stderr[-3000:]

    # Long enough to be mid-training when the signal comes; a step checkpoint shows it is.
    endless = "encoder.training.trainer.max_steps=100000," \
              "encoder.training.trainer.checkpoint_every_n_steps=3"
    run = subprocess.Popen([KEDRO, "run", "--env", "test", *ONLY_THE_CLIP, "--params", endless],
                           cwd=project_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=environment())
    checkpoints = project_copy / CHECKPOINTS
    # Counted from the test's start, so that this fails, saying why, within the test's budget.
    deadline = started + subprocess_timeout
    while not list(checkpoints.glob("step-*.ckpt")) and time.monotonic() < deadline:
        assert run.poll() is None, run.stdout.read()[-3000:]
        time.sleep(0.5)
    if not list(checkpoints.glob("step-*.ckpt")):
        # A SIGTERM now would test nothing: the run is not mid-training.
        run.kill()
        pytest.fail(f"no step checkpoint in {checkpoints} {subprocess_timeout:.0f} s into the "
                    f"test: the training never got going\n{run.communicate()[0][-3000:]}")
    run.send_signal(signal.SIGTERM)
    output, _ = run.communicate(timeout=subprocess_timeout)

    assert run.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "training interrupted by SIGTERM" in output and "run the same command" in output
    step = torch.load(checkpoints / "last.ckpt", map_location="cpu",
                      weights_only=True)["global_step"]
    assert step >= 3
    assert not (project_copy / "data/06_models/clip/clip.safetensors").exists()

    rerun = kedro(project_copy, *ONLY_THE_CLIP, "--params",
                  f"encoder.training.trainer.max_steps={step + 2}", timeout=subprocess_timeout)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"resuming from {CHECKPOINTS / 'last.ckpt'}" in rerun.stderr + rerun.stdout
    assert torch.load(checkpoints / "last.ckpt", map_location="cpu",
                      weights_only=True)["global_step"] == step + 2
