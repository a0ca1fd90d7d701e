"""Sampling CLIP image embeddings from the prior: unconditional, or given text embeddings.

The prior diffuses standardised embeddings (per-dimension mean and std over the training set,
because unit CLIP vectors have per-dimension spread ~1/sqrt(D), far below the unit noise);
samples are de-standardised and put back on the unit sphere, where real embeddings live.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Condition, Denoiser
from rodin_pipelines.diffusion.samplers import sample, sample_ddim

MINIMUM_STD = 1e-6


def embedding_statistics(embeddings: Tensor) -> dict[str, Tensor]:
    """``{"mean": (D,), "std": (D,)}`` of embeddings ``(N, D)``."""
    if embeddings.shape[0] < 2:
        raise ValueError(f"need at least 2 embeddings for statistics, got {embeddings.shape[0]}")
    return {"mean": embeddings.mean(0), "std": embeddings.std(0).clamp_min(MINIMUM_STD)}


def standardise(embeddings: Tensor, statistics: dict[str, Tensor]) -> Tensor:
    return (embeddings - statistics["mean"]) / statistics["std"]


def destandardise(standardised: Tensor, statistics: dict[str, Tensor]) -> Tensor:
    return standardised * statistics["std"] + statistics["mean"]


def sample_embeddings(denoiser: Denoiser, statistics: dict[str, Tensor], count: int,
                      texts: Tensor | None = None, sampler: str = "ddim", steps: int = 50,
                      guidance_scale: float = 1.0, seed: int = 0) -> Tensor:
    """``count`` unit embeddings ``(count, D)``.

    ``texts`` is ``None`` (unconditional) or unit text embeddings ``(count, D_text)`` (or
    ``(1, D_text)``, repeated).
    """
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(count, statistics["mean"].numel(), generator=generator)
    if texts is not None and texts.shape[0] == 1:
        texts = texts.expand(count, -1)
    predict = denoiser.predictor(Condition(latent=texts), guidance_scale)
    samples = sample(sampler, predict, denoiser.schedule, noise, steps, generator=generator)
    return torch.nn.functional.normalize(destandardise(samples, statistics), dim=-1)


def renoise_embeddings(denoiser: Denoiser, statistics: dict[str, Tensor], embeddings: Tensor,
                       texts: Tensor, level: float, steps: int = 50, guidance_scale: float = 1.0,
                       seed: int = 0) -> Tensor:
    """Unit embeddings ``(N, D)``: ``embeddings`` ``(N, D)`` noised to the prior's time
    ``level * (T-1)`` (``0 < level <= 1``) and denoised by DDIM given ``texts`` (``(1 | N,
    D_text)``), SDEdit (Meng et al. 2022) in the prior's space: what the noise leaves of each
    embedding and the text does not contradict survives; ``level = 1`` forgets the embedding."""
    if not 0.0 < level <= 1.0:
        raise ValueError(f"the re-noise level must be in (0, 1], got {level}")
    schedule = denoiser.schedule
    last = round(level * (schedule.steps - 1))
    times = [t for t in schedule.sampling_timesteps(steps) if t <= last] or [last]
    generator = torch.Generator().manual_seed(seed)
    clean = standardise(embeddings, statistics)
    noise = torch.randn(clean.shape, generator=generator)
    noisy = schedule.add_noise(clean, torch.full((clean.shape[0],), times[0]), noise)
    if texts.shape[0] == 1:
        texts = texts.expand(clean.shape[0], -1)
    predict = denoiser.predictor(Condition(latent=texts), guidance_scale)
    with torch.no_grad():
        samples = sample_ddim(predict, schedule, noisy, len(times), generator=generator,
                              times=times)
    return torch.nn.functional.normalize(destandardise(samples, statistics), dim=-1)


def prior_tensors(network_weights: dict[str, Tensor],
                  statistics: dict[str, Tensor]) -> dict[str, Tensor]:
    """One flat safetensors dict: ``network.*`` EMA weights and ``statistics.*``."""
    tensors = {f"network.{k}": v for k, v in network_weights.items()}
    tensors.update({f"statistics.{k}": v for k, v in statistics.items()})
    return tensors


def split_prior_tensors(tensors: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The inverse of :func:`prior_tensors`: ``(network weights, statistics)``."""
    network = {k.removeprefix("network."): v for k, v in tensors.items() if k.startswith("network.")}
    statistics = {k.removeprefix("statistics."): v for k, v in tensors.items()
                  if k.startswith("statistics.")}
    if not network or set(statistics) != {"mean", "std"}:
        raise ValueError("not a prior file: expected network.* weights and statistics.mean/std; "
                         "rerun `kedro run --pipeline encoder`")
    return network, statistics
