"""How well prior samples match what they were asked for, in CLIP image-embedding space."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.diffusion.denoiser import Denoiser
from rodin_pipelines.diffusion.embedding_prior_sampling import sample_embeddings
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.models.clip_embeddings import embed_texts
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.training.phrase_captions import attribute_prompt


def attribute_prompt_accuracy(samples_per_value: list[Tensor], real: Tensor, labels: list[str],
                              values: list[str]) -> dict[str, float]:
    """Samples for the prompt of each value vs real embeddings grouped by their value.

    ``samples_per_value[k]`` ``(n, D)`` were prompted with ``values[k]``; ``real`` ``(N, D)`` are
    unit embeddings labelled ``labels``. Accuracy: share of samples whose nearest class centroid
    (cosine) is the prompted value. Margin: mean cosine to avatars with the prompted value minus
    mean cosine to the others.
    """
    label_tensor = torch.tensor([values.index(label) for label in labels])
    present = [k for k in range(len(values)) if bool((label_tensor == k).any())]
    centroids = torch.stack([real[label_tensor == k].mean(0) for k in present])
    centroids = torch.nn.functional.normalize(centroids, dim=-1)
    hits, margins = [], []
    for k in present:
        samples = samples_per_value[k]
        nearest = torch.tensor(present)[(samples @ centroids.T).argmax(-1)]
        hits.append((nearest == k).float())
        cosine = samples @ real.T
        same, other = label_tensor == k, label_tensor != k
        if bool(other.any()):
            margins.append(cosine[:, same].mean() - cosine[:, other].mean())
    return {"accuracy": float(torch.cat(hits).mean()),
            "cosine_margin": float(torch.stack(margins).mean()) if margins else 0.0}


def caption_retrieval(prompted: Tensor, true: Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Row i of ``prompted`` ``(N, D)`` was sampled from avatar i's caption: how often is avatar
    i's real embedding (``true`` ``(N, D)``) among the ``k`` nearest, against chance ``k/N``."""
    ranks = (prompted @ true.T).argsort(dim=-1, descending=True)
    position = (ranks == torch.arange(len(true))[:, None]).float().argmax(-1)
    metrics = {f"caption_retrieval_top{k}": float((position < k).float().mean()) for k in ks}
    metrics.update({f"caption_retrieval_top{k}_chance": min(1.0, k / len(true)) for k in ks})
    return metrics


def side_view_gaussian(side: Tensor, count: int) -> Tensor:
    """The wrong-answer baseline: ``count`` draws ``(count, D)`` from a Gaussian fitted to
    side-view embeddings ``(M, D)`` (close to the data, but not frontal views). Drawn from
    torch's global generator, as the encoder stage always has."""
    return torch.distributions.MultivariateNormal(
        side.mean(0), torch.cov(side.T) + 1e-6 * torch.eye(side.shape[1])).sample((count,))


def prior_sample_metrics(denoiser: Denoiser, statistics: dict[str, Tensor],
                         avatar_embeddings: dict[str, Tensor],
                         caption_embeddings: dict[str, Tensor], train_ids: list[str],
                         heldout_ids: list[str], sampling: dict[str, Any],
                         evaluation: dict[str, Any]) -> dict[str, float]:
    """Unconditional Fréchet distances to the training avatars' frontal embeddings (and the
    side-view Gaussian's, the held-out avatars' for scale), and caption → avatar retrieval of
    samples prompted with the held-out captions (two held-out avatars at least).

    ``sampling`` and ``evaluation`` are the ``encoder.prior`` blocks of those names.
    """
    frontal = torch.stack([avatar_embeddings[i][0] for i in train_ids])
    side = torch.cat([avatar_embeddings[i][1:] for i in train_ids])
    count = evaluation["samples"]
    samples = sample_embeddings(denoiser, statistics, count, sampler=sampling["sampler"],
                                steps=sampling["steps"], seed=evaluation["seed"])
    wrong = side_view_gaussian(side, count)
    metrics = {
        "frechet_samples_vs_train": frechet_distance(samples, frontal),
        "frechet_side_view_gaussian_vs_train": frechet_distance(wrong, frontal),
        "samples": float(count),
        "sampling_steps": float(sampling["steps"]),
        "guidance_scale": float(sampling["guidance_scale"]),
    }
    if len(heldout_ids) >= 2:
        heldout_frontal = torch.stack([avatar_embeddings[i][0] for i in heldout_ids])
        metrics["frechet_heldout_vs_train"] = frechet_distance(heldout_frontal, frontal)
        texts = torch.stack([caption_embeddings[i][0] for i in heldout_ids])
        prompted = sample_embeddings(denoiser, statistics, len(heldout_ids), texts=texts,
                                     sampler=sampling["sampler"], steps=sampling["steps"],
                                     guidance_scale=sampling["guidance_scale"],
                                     seed=evaluation["seed"])
        metrics.update(caption_retrieval(prompted, heldout_frontal))
    return metrics


def prompt_attribute_metrics(denoiser: Denoiser, statistics: dict[str, Tensor],
                             clip: LoadedClip, avatar_embeddings: dict[str, Tensor],
                             train: pd.DataFrame, sampling: dict[str, Any],
                             evaluation: dict[str, Any]) -> dict[str, float]:
    """Per attribute of ``evaluation["attributes"]``: samples prompted with each value's prompt
    vs the training avatars (rows of the index ``train``) grouped by their value."""
    frontal = torch.stack([avatar_embeddings[i][0] for i in train["avatar_id"]])
    metrics = {}
    for attribute in evaluation["attributes"]:
        values = sorted(set(train[attribute]))
        prompts = embed_texts(clip, [attribute_prompt(attribute, v) for v in values])
        per_value = [sample_embeddings(denoiser, statistics, evaluation["samples_per_prompt"],
                                       texts=prompts[k:k + 1], sampler=sampling["sampler"],
                                       steps=sampling["steps"],
                                       guidance_scale=sampling["guidance_scale"],
                                       seed=evaluation["seed"] + k) for k in range(len(values))]
        accuracy = attribute_prompt_accuracy(per_value, frontal, train[attribute].tolist(), values)
        metrics[f"prompt_{attribute}_accuracy"] = accuracy["accuracy"]
        metrics[f"prompt_{attribute}_cosine_margin"] = accuracy["cosine_margin"]
        metrics[f"prompt_{attribute}_chance"] = 1.0 / len(values)
    return metrics
