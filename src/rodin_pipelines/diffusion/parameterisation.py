"""What the network predicts: noise (ε), the clean sample (x0) or velocity (v).

One enum in config (``parameterisation: eps | x0 | v``); everything else speaks ``(x0, eps)``
through :func:`prediction_from_output` and :func:`training_target`. RodinHD predicts ε in the base
model and x0 in the upsampler, whose rendering loss needs the clean tri-plane (rodin-method §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from torch import Tensor


class Parameterisation(StrEnum):
    EPS = "eps"
    X0 = "x0"
    V = "v"


@dataclass(frozen=True)
class Prediction:
    """The denoiser's estimate of the clean sample and of the noise, both shaped like ``x_t``."""

    x0: Tensor
    eps: Tensor


def prediction_from_output(output: Tensor, x_t: Tensor, alpha: Tensor, sigma: Tensor,
                           parameterisation: Parameterisation) -> Prediction:
    """Turn a network output into ``(x0, eps)`` given ``x_t = alpha x0 + sigma eps``."""
    if parameterisation is Parameterisation.EPS:
        return Prediction(x0=(x_t - sigma * output) / alpha, eps=output)
    if parameterisation is Parameterisation.X0:
        return Prediction(x0=output, eps=(x_t - alpha * output) / sigma)
    if parameterisation is Parameterisation.V:
        # v = alpha eps - sigma x0, with alpha² + sigma² = 1.
        return Prediction(x0=alpha * x_t - sigma * output, eps=sigma * x_t + alpha * output)
    raise ValueError(f"unknown parameterisation {parameterisation!r}")


def training_target(x0: Tensor, noise: Tensor, alpha: Tensor, sigma: Tensor,
                    parameterisation: Parameterisation) -> Tensor:
    """What the network should output for ``x_t = alpha x0 + sigma noise``."""
    if parameterisation is Parameterisation.EPS:
        return noise
    if parameterisation is Parameterisation.X0:
        return x0
    if parameterisation is Parameterisation.V:
        return alpha * noise - sigma * x0
    raise ValueError(f"unknown parameterisation {parameterisation!r}")
