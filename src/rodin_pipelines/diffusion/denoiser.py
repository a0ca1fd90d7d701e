"""One denoiser interface between networks and samplers (k-diffusion style).

A network is any module called as ``network(x, t, latent, latent_keep)`` → output shaped like
``x`` (minus any context channels): the roll-out U-Net, or the prior's MLP (an upsampler that
reads the level of its input's conditioning-augmentation noise also takes ``context_level=``).
:class:`Denoiser` adds the schedule and the parameterisation, concatenates the context (the
upsampler's low-resolution tri-plane) and applies classifier-free guidance, and hands samplers a
plain function ``predict(x_t, t) → Prediction``. Samplers never see conditions, guidance or
parameterisations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

from rodin_pipelines.diffusion.parameterisation import (
    Parameterisation,
    Prediction,
    prediction_from_output,
)
from rodin_pipelines.diffusion.schedule import NoiseSchedule, ScheduleSettings
from rodin_pipelines.instantiation import build_from_config

Predict = Callable[[Tensor, Tensor], Prediction]
"""``predict(x_t (B, …), t (B,) long) → Prediction``: what every sampler calls."""


@dataclass(frozen=True)
class Condition:
    """What a sample is conditioned on.

    Attributes:
        latent: ``(B, D)`` conditioning vectors (CLIP image embedding e for tri-plane models, CLIP
            text embedding for the prior), or ``None`` for unconditional.
        context: ``(B, C', …)`` channels concatenated to ``x_t`` (the upsampler's upsampled
            low-resolution tri-plane), or ``None``.
        context_level: ``(B,)`` the level of the conditioning augmentation's noise on
            ``context`` (for a network built to read it), or ``None``.
    """

    latent: Tensor | None = None
    context: Tensor | None = None
    context_level: Tensor | None = None


class Denoiser:
    """A network plus its schedule and parameterisation; counts network evaluations."""

    def __init__(self, network: nn.Module, schedule: NoiseSchedule,
                 parameterisation: Parameterisation | str) -> None:
        self.network = network
        self.schedule = schedule
        self.parameterisation = Parameterisation(parameterisation)
        self.evaluations = 0

    def network_output(self, x_t: Tensor, t: Tensor, condition: Condition,
                       latent_keep: Tensor | None = None) -> Tensor:
        """Raw network output for ``x_t`` ``(B, …)`` at timesteps ``t`` ``(B,)``.

        Inputs go to the network's device and the output comes back to ``x_t``'s, so samplers
        may keep their state (and seeded CPU generators) on the CPU while a GPU evaluates."""
        device = self.device or x_t.device
        inputs = x_t if condition.context is None else torch.cat([x_t, condition.context], 1)
        latent = None if condition.latent is None else condition.latent.to(device)
        keep = None if latent_keep is None else latent_keep.to(device)
        extra = {} if condition.context_level is None else {
            "context_level": condition.context_level.to(device, x_t.dtype)}
        output = self.network(inputs.to(device), t.to(device, x_t.dtype), latent, keep, **extra)
        return output.to(x_t.device)

    @property
    def device(self) -> torch.device | None:
        """Where the network's weights are (``None`` for a function without parameters)."""
        parameters = getattr(self.network, "parameters", None)
        first = next(parameters(), None) if parameters is not None else None
        return None if first is None else first.device

    def predict(self, x_t: Tensor, t: Tensor, condition: Condition = Condition(),
                guidance_scale: float = 1.0) -> Prediction:
        """``(x0, eps)`` estimate with classifier-free guidance: one network evaluation.

        Conditional and unconditional halves run as one batch; the outputs combine as
        ``uncond + scale (cond − uncond)`` (linear, so the same in ε, x0 or v space): scale 1 is
        the conditional prediction, 0 the unconditional one.
        """
        self.evaluations += 1
        if condition.latent is None:
            output = self.network_output(x_t, t, condition)
        else:
            batch = x_t.shape[0]
            doubled = Condition(**{  # every row twice: conditional half, unconditional half
                field.name: None if value is None else torch.cat([value, value])
                for field in fields(Condition)
                for value in [getattr(condition, field.name)]})
            keep = torch.arange(2 * batch, device=x_t.device) < batch
            both = self.network_output(torch.cat([x_t, x_t]), torch.cat([t, t]), doubled, keep)
            conditional, unconditional = both[:batch], both[batch:]
            output = unconditional + guidance_scale * (conditional - unconditional)
        alpha, sigma = self.schedule.alpha_sigma(t, x_t)
        return prediction_from_output(output, x_t, alpha, sigma, self.parameterisation)

    def predictor(self, condition: Condition = Condition(), guidance_scale: float = 1.0) -> Predict:
        """The sampler-facing function for one condition and guidance scale."""
        return lambda x_t, t: self.predict(x_t, t, condition, guidance_scale)


def denoiser_from_config(network: Mapping[str, Any], diffusion: Mapping[str, Any],
                         weights: Mapping[str, Tensor]) -> Denoiser:
    """A trained network as a :class:`Denoiser`, in eval mode: the one way every stage rebuilds
    one (the cascade's models and the prior).

    ``network`` is the network's ``_target_`` block with its data-dependent sizes filled in;
    ``diffusion`` the model's ``diffusion`` block (``schedule``, ``parameterisation``);
    ``weights`` the stored (EMA) state dict.
    """
    module = build_from_config(network)
    module.load_state_dict(weights)
    module.eval()
    schedule = NoiseSchedule(ScheduleSettings(**diffusion["schedule"]))
    return Denoiser(module, schedule, diffusion["parameterisation"])
