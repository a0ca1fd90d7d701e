"""The shared diffusion LightningModule on a tiny roll-out U-Net: learning, EMA, non-finite
losses, kill/resume and 2-process DDP."""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytorch_lightning as pl
import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from diffusion_scripts import LATENT, SmoothTriplanes, tiny_system, tiny_unet  # noqa: E402

from rodin_pipelines.diffusion.denoiser import Condition  # noqa: E402
from rodin_pipelines.diffusion.losses import diffusion_loss  # noqa: E402
from rodin_pipelines.settings import load_parameters  # noqa: E402
from rodin_pipelines.training.diffusion_module import (  # noqa: E402
    DiffusionSystem,
    TrainingDivergedError,
)
from rodin_pipelines.training.step_loader import step_loader  # noqa: E402


CONF = HERE.parents[1] / "conf"


@pytest.mark.parametrize(("env", "path", "lr", "weight_decay"), [
    ("base", ("diffusion", "base"), 1e-3, 0.0),
    ("base", ("diffusion", "upsampler"), 5e-4, 0.0),
    ("base", ("encoder", "prior"), 1e-3, 0.0),
    ("paper", ("diffusion", "base"), 5e-5, 0.01),  # overrides lr and decay, keeps the target
])
def test_the_configured_optimiser_is_adamw_over_the_network(env, path, lr, weight_decay) -> None:
    block = load_parameters(CONF, env)[path[0]][path[1]]["diffusion"]["optimiser"]
    system = tiny_system(optimiser=block)
    optimiser = system.configure_optimizers()
    assert type(optimiser) is torch.optim.AdamW
    group = optimiser.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["betas"], group["eps"]) == \
        (lr, weight_decay, (0.9, 0.999), 1e-8)
    assert len(optimiser.param_groups) == 1
    assert group["params"] == list(system.network.parameters())  # not the EMA copy


def test_the_default_optimiser_is_adamw_without_weight_decay() -> None:
    optimiser = DiffusionSystem(tiny_unet(), {"steps": 100}).configure_optimizers()
    group = optimiser.param_groups[0]
    assert type(optimiser) is torch.optim.AdamW
    assert (group["lr"], group["weight_decay"]) == (1e-4, 0.0)  # AdamW's own default is 0.01


def quiet_trainer(steps: int) -> pl.Trainer:
    return pl.Trainer(max_steps=steps, accelerator="cpu", logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False)


def held_out_loss(system, data: SmoothTriplanes) -> float:
    """Loss at fixed noise and timesteps (the same draws before and after training)."""
    generator = torch.Generator().manual_seed(5)
    x0 = data.x0.repeat(8, 1, 1, 1)
    latent = data.latent.repeat(8, 1)
    with torch.no_grad():
        result = diffusion_loss(system.denoiser, x0, Condition(latent=latent),
                                generator=generator)
    return float(result.per_sample.mean())


def test_the_training_loss_falls_on_a_tiny_set() -> None:
    torch.manual_seed(0)
    data = SmoothTriplanes()
    system = tiny_system()
    before = held_out_loss(system, data)
    quiet_trainer(120).fit(system, step_loader(data, 4, 120))
    after = held_out_loss(system, data)
    assert after < 0.6 * before, (before, after)
    ema = [p for p in system.ema_network.parameters()]
    live = [p for p in system.network.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(ema, live))  # EMA lags the live weights


class LearningRates(pl.Callback):
    """The optimiser's learning rate before every training step."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def on_train_batch_start(self, trainer, module, batch, batch_index) -> None:
        self.seen.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_a_configured_lr_schedule_is_stepped_every_training_step() -> None:
    torch.manual_seed(0)
    schedule = {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "_partial_": True,
                "T_max": 10, "eta_min": 1e-4}
    system, rates = tiny_system(lr_schedule=schedule), LearningRates()
    trainer = quiet_trainer(10)
    trainer.callbacks.append(rates)
    trainer.fit(system, step_loader(SmoothTriplanes(), 4, 10))
    # cosine from 2e-3 to 1e-4 over 10 steps: lr_k = 1e-4 + 0.5 (2e-3 - 1e-4)(1 + cos(pi k / 10))
    expected = [1e-4 + 0.5 * 1.9e-3 * (1 + math.cos(math.pi * k / 10)) for k in range(10)]
    assert rates.seen == pytest.approx(expected, rel=1e-6)
    assert tiny_system().configure_optimizers().param_groups[0]["lr"] == 2e-3  # none: constant


class PoisonedSteps(SmoothTriplanes):
    """NaN data at chosen draws (the loader draws ``batch`` items per step)."""

    def __init__(self, poisoned_items: set[int]) -> None:
        super().__init__()
        self.poisoned, self.calls = poisoned_items, 0

    def __getitem__(self, index: int) -> dict:
        item = dict(super().__getitem__(index))
        if self.calls in self.poisoned:
            item["x0"] = torch.full_like(item["x0"], float("nan"))
        self.calls += 1
        return item


def test_latent_noise_is_scaled_by_each_dimension_s_std_and_off_at_zero() -> None:
    torch.manual_seed(0)
    std = torch.linspace(0.1, 2.0, LATENT)
    latent = torch.randn(20_000, LATENT)
    quiet, noisy = tiny_system(), tiny_system(latent_noise=0.5)
    for system in (quiet, noisy):
        system.network.set_latent_statistics(torch.zeros(LATENT), std)
    assert torch.equal(quiet._noised(latent), latent)
    assert quiet._noised(None) is None
    added = noisy._noised(latent) - latent
    assert torch.allclose(added.std(dim=0), 0.5 * std, rtol=0.03)  # 0.05 .. 1.0 per dimension
    assert added.mean(dim=0).abs().max() < 0.03


def test_a_compiled_system_trains_like_the_eager_one_and_saves_the_same_keys(monkeypatch) -> None:
    # Dynamo's capture with eager kernels: the system's wiring, in seconds rather than the 90 s
    # inductor takes to generate C++ on 2 cores (inductor's own correctness is PyTorch's).
    compile_eagerly = functools.partial(torch.compile, backend="aot_eager")
    monkeypatch.setattr(torch, "compile", compile_eagerly)
    torch.manual_seed(0)
    data = SmoothTriplanes()
    eager, compiled = tiny_system(), tiny_system(compile=True)
    compiled.load_state_dict(eager.state_dict())
    assert compiled.denoiser.network._orig_mod is compiled.network  # steps run compiled
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # no "_orig_mod." keys
    assert dict(compiled.hparams) == dict(eager.hparams)  # either resumes the other's checkpoint
    losses = []
    for system in (eager, compiled):
        generator = torch.Generator().manual_seed(3)
        result = diffusion_loss(system.denoiser, data.x0, Condition(latent=data.latent),
                                generator=generator)
        loss = result.per_sample.mean()
        loss.backward()
        losses.append((float(loss), system.network.out[-1].weight.grad.clone()))
    assert losses[1][0] == pytest.approx(losses[0][0], rel=1e-5)
    assert torch.allclose(losses[1][1], losses[0][1], rtol=1e-4, atol=1e-6)


def test_a_non_finite_step_is_skipped_and_counted() -> None:
    torch.manual_seed(0)
    system = tiny_system(max_nonfinite_steps=3)
    trainer = quiet_trainer(6)
    trainer.fit(system, step_loader(PoisonedSteps({4}), 2, 6))  # step 2 (items 4-5) is NaN
    assert system.nonfinite_total == 1 and system.nonfinite_in_a_row == 0
    assert all(torch.isfinite(p).all() for p in system.network.parameters())
    assert all(torch.isfinite(p).all() for p in system.ema_network.parameters())


def test_several_non_finite_steps_in_a_row_stop_the_run_naming_the_step() -> None:
    system = tiny_system(max_nonfinite_steps=3)
    with pytest.raises(TrainingDivergedError, match=r"3 steps in a row, up to step \d+"):
        quiet_trainer(10).fit(system, step_loader(PoisonedSteps(set(range(100))), 2, 10))


def test_a_killed_diffusion_training_resumes_with_its_ema(tmp_path) -> None:
    killed = subprocess.run([sys.executable, str(HERE / "diffusion_scripts.py"), "killed",
                             str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr[-2000:]
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 5
    assert any(k.startswith("ema_network.") for k in saved["state_dict"])
    resumed = subprocess.run([sys.executable, str(HERE / "diffusion_scripts.py"), "resume",
                              str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)
    assert final["global_step"] == 12


@pytest.mark.slow
def test_two_process_ddp_keeps_weights_identical_and_noise_different(
        tmp_path, subprocess_timeout) -> None:
    result = subprocess.run([sys.executable, str(HERE / "diffusion_scripts.py"), "ddp",
                             str(tmp_path)], capture_output=True, text=True,
                            timeout=subprocess_timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = json.loads((tmp_path / "ranks.json").read_text())
    assert ranks["world_size"] == 2
    assert ranks["max_rank_difference"] == 0.0
    first, second = ranks["timesteps"]
    assert first != second


def test_a_level_conditioned_upsampler_trains_on_the_levels_its_items_carry() -> None:
    """Items of an upsampler set with level-conditioned augmentation carry the level they were
    noised at; a training step hands it to the network (its level MLP gets a gradient)."""
    from torch.utils.data import default_collate

    from rodin_pipelines.diffusion.conditioning_augmentation import ConditioningAugmentation
    from rodin_pipelines.training.triplane_diffusion_data import (TriplaneDiffusionSet,
                                                                  TriplaneExample)
    from rodin_pipelines.triplane.normalisation import PlaneStatistics

    channels, resolution, low = 4, 8, 4
    generator = torch.Generator().manual_seed(0)
    examples = [TriplaneExample(f"a{i}", torch.randn(3, channels, resolution, resolution,
                                                     generator=generator),
                                torch.randn(LATENT, generator=generator)) for i in range(4)]
    statistics = PlaneStatistics(mean=torch.zeros(channels), std=torch.ones(channels))
    augmentation = ConditioningAugmentation(noise_std_max=0.0, blur_probability=0.0,
                                            resize_probability=0.0, noise_level_max=0.8)
    torch.manual_seed(0)
    dataset = TriplaneDiffusionSet(examples, statistics, resolution, low, augmentation)
    batch = default_collate([dataset[i] for i in range(4)])
    assert batch["context_level"].shape == (4,)
    assert float(batch["context_level"].min()) >= 0 and float(batch["context_level"].max()) <= 0.8
    plain = TriplaneDiffusionSet(examples, statistics, resolution, low,
                                 ConditioningAugmentation(noise_level_max=0.0))
    assert "context_level" not in plain[0]

    network = {**tiny_unet(), "in_channels": channels, "resolution": resolution,
               "_target_": "rodin_pipelines.models.rollout_super_res_unet.RollOutSuperResUNet",
               "low_resolution": low, "context_noise_conditioned": True}
    system = DiffusionSystem(network, {"steps": 100}, parameterisation="x0")
    torch.manual_seed(1)
    with torch.no_grad():  # past the zero-initialised layers, so gradients reach the level MLP
        for parameter in system.network.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    system.log = lambda *args, **kwargs: None  # no Trainer here: the step's own logic only
    system._all_ranks_finite = lambda loss: True
    torch.manual_seed(2)  # the same timesteps, noise and dropped rows for both steps
    with torch.no_grad():
        at_level_zero = system.training_step({**batch, "context_level": torch.zeros(4)}, 0)
    torch.manual_seed(2)
    loss = system.training_step(batch, 0)
    assert abs(float(loss) - float(at_level_zero)) > 1e-6  # the items' levels reached the network
    loss.backward()
    gradient = system.network.context_level_embed[-1].weight.grad
    assert gradient is not None and float(gradient.abs().sum()) > 0


def test_items_draw_their_latent_from_near_frontal_views_at_the_set_probability() -> None:
    from rodin_pipelines.training.triplane_diffusion_data import (TriplaneDiffusionSet,
                                                                  TriplaneExample)
    from rodin_pipelines.triplane.normalisation import PlaneStatistics

    channels, resolution = 4, 8
    statistics = PlaneStatistics(mean=torch.zeros(channels), std=torch.ones(channels))
    planes = torch.randn(3, channels, resolution, resolution)
    frontal, views = torch.zeros(LATENT), torch.stack([torch.ones(LATENT), 2 * torch.ones(LATENT)])
    with_views = TriplaneExample("a", planes, frontal, view_latents=views)
    without = TriplaneExample("b", planes, frontal)

    def drawn(probability: float, index: int = 0, count: int = 400) -> torch.Tensor:
        dataset = TriplaneDiffusionSet([with_views, without], statistics, resolution,
                                       view_latent_probability=probability)
        return torch.stack([dataset[index]["latent"][0] for _ in range(count)])

    torch.manual_seed(0)
    assert torch.equal(drawn(0.0), torch.zeros(400))
    assert torch.equal(drawn(1.0, index=1), torch.zeros(400))  # no views: its frontal latent
    always = drawn(1.0)
    assert set(always.tolist()) == {1.0, 2.0}  # both views, never the frontal latent
    half = drawn(0.5)
    assert 0.4 < float((half == 0).float().mean()) < 0.6
    with pytest.raises(ValueError, match="near-frontal view embeddings"):
        TriplaneDiffusionSet([without], statistics, resolution, view_latent_probability=0.5)
    with pytest.raises(ValueError, match="probability"):
        TriplaneDiffusionSet([with_views], statistics, resolution, view_latent_probability=1.5)
