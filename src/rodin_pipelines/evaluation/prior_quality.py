"""How well prior samples match what they were asked for, in CLIP image-embedding space."""

from __future__ import annotations

import torch
from torch import Tensor


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
