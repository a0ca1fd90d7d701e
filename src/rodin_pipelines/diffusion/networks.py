"""The diffusion networks from config: the cascade's two models (base and upsampler) and the
embedding prior, with the sizes that come from the data, and trained ones rebuilt as denoisers.

Every stage that trains or samples them (diffusion, evaluate, generate, ablations, benchmarks)
builds them here, so a network is always rebuilt exactly as it was trained.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Denoiser, denoiser_from_config
from rodin_pipelines.diffusion.embedding_prior_sampling import split_prior_tensors
from rodin_pipelines.instantiation import target_class


def network_class(model: dict[str, Any]) -> type:
    """The class of a cascade model's network (``RollOutUNet`` for the base model, its subclass
    ``RollOutSuperResUNet`` for the upsampler): its type, not a flag, says which model it is."""
    return target_class(model["network"])


def network_config(model: dict[str, Any], diffusion: dict[str, Any], channels: int,
                   latent_dim: int, fitted_resolution: int) -> dict[str, Any]:
    """The network's ``_target_`` block with the sizes that come from the data: the cascade
    goes from ``diffusion.base_resolution`` to the fitted tri-planes' resolution, and the
    network's class says which part of that it generates."""
    sizes = network_class(model).cascade_sizes(
        channels=channels, latent_dim=latent_dim, low_resolution=diffusion["base_resolution"],
        high_resolution=fitted_resolution)
    return {**model["network"], **sizes}


def load_denoiser(weights: dict[str, Tensor], model: dict[str, Any], diffusion: dict[str, Any],
                  sizes: dict[str, int]) -> Denoiser:
    """A trained model's EMA denoiser, rebuilt from config and its stored weights.

    ``model`` is ``diffusion.base`` or ``diffusion.upsampler``; ``sizes`` holds ``channels``,
    ``latent_dim`` and ``fitted_resolution``.
    """
    return denoiser_from_config(network_config(model, diffusion, **sizes), model["diffusion"],
                                weights)


def prior_network_config(prior: dict[str, Any], image_dim: int, text_dim: int) -> dict[str, Any]:
    """The prior network's ``_target_`` block with its embedding sizes."""
    return {**prior["network"], "embedding_dim": image_dim, "text_dim": text_dim}


def load_prior(prior_file: dict[str, Tensor], prior: dict[str, Any]
               ) -> tuple[Denoiser, dict[str, Tensor]]:
    """The prior's EMA denoiser and its embedding statistics, from the stored tensors.

    ``prior`` is the ``encoder.prior`` parameter block.
    """
    weights, statistics = split_prior_tensors(prior_file)
    image_dim = statistics["mean"].numel()
    text_dim = weights["text_head.0.weight"].shape[1] if "text_head.0.weight" in weights else 0
    return denoiser_from_config(prior_network_config(prior, image_dim, text_dim),
                                prior["diffusion"], weights), statistics
