"""THE diffusion LightningModule: the prior, the base and the upsampler all train through it.

Built from plain config (the network's ``_target_`` block and numbers), so checkpoints load with
``weights_only=True``. A batch is a dict: ``x0`` ``(B, …)`` normalised data, optional ``latent``
``(B, D)`` (dropped per row with ``condition_dropout`` for classifier-free guidance) and optional
``context`` ``(B, C', …)`` (the upsampler's low-resolution input) with its optional noise level
``context_level`` ``(B,)``. An optional auxiliary loss (the
upsampler's rendering loss) scores the predicted clean sample. EMA weights are kept beside the
trained ones and are what sampling uses.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from rodin_pipelines.diffusion.denoiser import Condition, Denoiser
from rodin_pipelines.diffusion.losses import condition_keep_mask, diffusion_loss
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings
from rodin_pipelines.instantiation import build_from_config
from rodin_pipelines.training.nonfinite import (  # noqa: F401 - the error is re-exported
    NonFiniteGuard, TrainingDivergedError,
)


DEFAULT_OPTIMISER = {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 1e-4,
                     "weight_decay": 0.0}
"""AdamW at lr 1e-4 without weight decay (AdamW's own default decay is 0.01)."""


class AuxiliaryLoss(Protocol):
    def __call__(self, predicted_x0: Tensor, batch: dict[str, Any]) -> Tensor: ...


class DiffusionSystem(pl.LightningModule):
    """Trains ``network`` to denoise; keeps an EMA copy for sampling.

    Args:
        network: ``_target_`` config block of the denoising network.
        schedule: :class:`ScheduleSettings` fields. parameterisation: ``eps``, ``x0`` or ``v``.
        condition_dropout: probability that a row's latent is replaced by the null embedding.
        latent_noise: std of Gaussian noise added to each kept latent in training, in units of
            the training latents' per-dimension std (0: none). With a few hundred avatars the
            latent head otherwise learns each training e as an identity and generalises poorly
            to held-out ones; noise makes nearby e give nearby tri-planes.
        optimiser: ``_target_`` block with ``_partial_: true`` (the optimiser class and its
            arguments but the parameters), e.g. ``torch.optim.AdamW`` with ``lr`` and
            ``weight_decay``; plain data, so checkpoints keep loading with ``weights_only``.
        lr_schedule: ``None`` (a constant learning rate) or a ``_target_`` block with
            ``_partial_: true`` of a ``torch.optim.lr_scheduler`` class but the optimiser, e.g.
            ``CosineAnnealingLR`` with ``T_max`` the run's steps; stepped every training step.
        ema_decay: per-step EMA decay.
        max_nonfinite_steps: this many non-finite steps in a row stop the run.
        channels_last: train 4D inputs in channels-last memory format (GPU speed).
        compile: train through ``torch.compile`` of the network (inductor). The weights, the EMA
            copy and the checkpoints stay the plain module's; only training steps run compiled.
            Measured on 2 CPU cores: base 1.30x (1.60x with bf16 autocast) after ~2 min of
            compiling (``benchmarks/bench_diffusion_training.py``).
        auxiliary_loss / auxiliary_weight: an extra loss on the predicted ``x0`` (not saved in
            hyperparameters; the caller rebuilds it).
        data_fingerprint: hash of the training data, so ``resume: last`` never continues a
            model trained on other data (:func:`rodin_pipelines.fingerprints.data_fingerprint`).
        latent_statistics: ``{"mean", "std"}`` ``(D,)`` of the training latents, which the
            network standardises e with (stored in its weights, so not a hyperparameter).
    """

    def __init__(self, network: dict[str, Any], schedule: dict[str, Any],
                 parameterisation: str = "eps", condition_dropout: float = 0.2,
                 latent_noise: float = 0.0,
                 optimiser: Mapping[str, Any] = DEFAULT_OPTIMISER,
                 lr_schedule: Mapping[str, Any] | None = None, ema_decay: float = 0.999,
                 max_nonfinite_steps: int = 5, channels_last: bool = False,
                 compile: bool = False,
                 auxiliary_loss: nn.Module | None = None, auxiliary_weight: float = 0.0,
                 data_fingerprint: str = "",
                 latent_statistics: dict[str, Tensor] | None = None) -> None:
        super().__init__()
        # compile is how steps run, not what is trained: a compiled run resumes an eager one.
        self.save_hyperparameters(ignore=["auxiliary_loss", "latent_statistics", "compile"])
        self.network = build_from_config(network)
        if latent_statistics is not None:
            self.network.set_latent_statistics(latent_statistics["mean"], latent_statistics["std"])
        self.ema_network = copy.deepcopy(self.network).requires_grad_(False)
        self.schedule = NoiseSchedule(ScheduleSettings(**schedule))
        # The compiled wrapper lives only inside the denoiser (not a registered submodule), so
        # state_dict keys and checkpoints are the same with and without compiling.
        trained = torch.compile(self.network) if compile else self.network
        self.denoiser = Denoiser(trained, self.schedule, parameterisation)
        self.auxiliary_loss = auxiliary_loss
        self.nonfinite = NonFiniteGuard(
            max_nonfinite_steps, "train/nonfinite_steps_skipped",
            "lower the learning rate, enable gradient clipping, or check the training data for "
            "NaN (the fit stage's tri-planes)")
        self._stepped = False
        self.last_timesteps: Tensor | None = None
        if channels_last:
            self.network.to(memory_format=torch.channels_last)

    def ema_denoiser(self) -> Denoiser:
        """The denoiser over the EMA weights (what sampling uses)."""
        return Denoiser(self.ema_network, self.schedule, self.hparams.parameterisation)

    def _prepare(self, tensor: Tensor | None) -> Tensor | None:
        if tensor is not None and tensor.dim() == 4 and self.hparams.channels_last:
            return tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def _noised(self, latent: Tensor | None) -> Tensor | None:
        """``latent`` ``(B, D)`` plus training noise scaled per dimension by the network's
        latent std (:attr:`latent_noise`)."""
        if latent is None or self.hparams.latent_noise <= 0:
            return latent
        std = getattr(self.network, "latent_std", None)
        scale = self.hparams.latent_noise * (std if std is not None else 1.0)
        return latent + scale * torch.randn_like(latent)

    def training_step(self, batch: dict[str, Any], batch_index: int) -> Tensor | None:
        x0 = self._prepare(batch["x0"])
        latent = self._noised(batch.get("latent"))
        keep = None if latent is None else condition_keep_mask(
            x0.shape[0], self.hparams.condition_dropout, x0.device)
        condition = Condition(latent, self._prepare(batch.get("context")),
                              batch.get("context_level"))
        result = diffusion_loss(self.denoiser, x0, condition, keep)
        loss = result.per_sample.mean()
        self.last_timesteps = result.timesteps  # (B,): which noise levels this rank drew
        self.log("train/diffusion_loss", loss.detach(), prog_bar=True)
        if self.auxiliary_loss is not None and self.hparams.auxiliary_weight > 0:
            auxiliary = self.auxiliary_loss(result.prediction.x0, batch)
            self.log("train/auxiliary_loss", auxiliary.detach())
            loss = loss + self.hparams.auxiliary_weight * auxiliary
        self._stepped = self._all_ranks_finite(loss)
        if not self._stepped:
            return None
        self.log("train/loss", loss.detach())
        return loss

    def _all_ranks_finite(self, loss: Tensor) -> bool:
        """Agree across ranks whether to step (one rank's NaN skips the step everywhere)."""
        return self.nonfinite.all_ranks_finite(self, loss)

    @property
    def nonfinite_in_a_row(self) -> int:
        return self.nonfinite.in_a_row

    @property
    def nonfinite_total(self) -> int:
        return self.nonfinite.total

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Step, then update the EMA: here rather than in ``on_train_batch_end``, which runs
        after the checkpoint callback and would leave a checkpoint one EMA update behind."""
        super().optimizer_step(*args, **kwargs)
        if self._stepped:
            self._update_ema()

    def _update_ema(self) -> None:
        # Warm-up (as in many EMA implementations): early averages follow the fast-moving weights
        # instead of staying near the random initialisation.
        decay = min(self.hparams.ema_decay, (1.0 + self.global_step) / (10.0 + self.global_step))
        with torch.no_grad():
            for ema, live in zip(self.ema_network.parameters(), self.network.parameters()):
                ema.lerp_(live.detach(), 1.0 - decay)
            for ema, live in zip(self.ema_network.buffers(), self.network.buffers()):
                ema.copy_(live)

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        optimiser = build_from_config(self.hparams.optimiser)(self.network.parameters())
        if self.hparams.lr_schedule is None:
            return optimiser
        scheduler = build_from_config(self.hparams.lr_schedule)(optimiser)
        return {"optimizer": optimiser,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}


def ema_weights(system: DiffusionSystem) -> dict[str, Tensor]:
    """The EMA network's weights, detached on the CPU (what the stage writes to safetensors)."""
    return {k: v.detach().cpu().contiguous() for k, v in system.ema_network.state_dict().items()}
