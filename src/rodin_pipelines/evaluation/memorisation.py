"""Is a generated avatar a copy of a training avatar? Nearest neighbours in CLIP feature space.

RODIN shows its samples are not memorised by putting each beside its nearest training avatar
(method §7). The search is by cosine distance ``1 − cos(g, t)`` between CLIP image embeddings;
a distance near 0 flags a near-copy, and the gap to the second-nearest distance tells a unique
match (copy of one avatar) from a generic look (close to many).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rodin_pipelines.rendering.contact_sheet import flatten_rgba, image_grid


class TrainingNeighbour(NamedTuple):
    """The nearest training item of one generated item, by cosine distance in feature space."""

    generated_index: int
    nearest_id: str
    distance: float
    second_distance: float


@torch.no_grad()
def nearest_training_neighbours(generated: Tensor, training: Tensor, training_ids: Sequence[str],
                                chunk_size: int = 1024) -> list[TrainingNeighbour]:
    """For each generated feature ``(N, D)``, its nearest of the training features ``(M, D)``.

    Features need not be unit length (they are normalised here). Similarities are computed
    ``chunk_size`` generated items at a time, so memory stays ``chunk_size × M``.

    Example: generated ``[[1, 0]]``, training ``[[0, 1], [2, 0]]`` with ids ``["a", "b"]`` →
    ``[TrainingNeighbour(0, "b", 0.0, 1.0)]``.

    Raises:
        ValueError: fewer than two training items, mismatched widths or ids.
    """
    if generated.dim() != 2 or training.dim() != 2 or generated.shape[1] != training.shape[1]:
        raise ValueError(f"expected generated (N, D) and training (M, D) features, got "
                         f"{tuple(generated.shape)} and {tuple(training.shape)}")
    if training.shape[0] < 2:
        raise ValueError("need at least 2 training items to report a second-nearest distance")
    if len(training_ids) != training.shape[0]:
        raise ValueError(f"{len(training_ids)} training ids for {training.shape[0]} features")
    dtype = torch.promote_types(training.dtype, torch.float32)
    reference = F.normalize(training.to(dtype), dim=1)
    neighbours = []
    for start in range(0, generated.shape[0], chunk_size):
        queries = F.normalize(generated[start:start + chunk_size].to(reference), dim=1)
        similarity, index = (queries @ reference.T).topk(2, dim=1)  # (chunk, 2), best first
        distance = (1.0 - similarity).clamp_min(0.0)
        for row in range(queries.shape[0]):
            neighbours.append(TrainingNeighbour(start + row, training_ids[int(index[row, 0])],
                                                float(distance[row, 0]), float(distance[row, 1])))
    return neighbours


def memorisation_grid(generated_images: Tensor, neighbour_images: Tensor,
                      scale: int = 1) -> np.ndarray:
    """Each generated view beside its nearest training view → one uint8 picture.

    Args:
        generated_images: straight RGBA ``(N, H, W, 4)`` renders of generated avatars.
        neighbour_images: straight RGBA ``(N, H, W, 4)``, row ``i`` the neighbour of item ``i``.
        scale: enlarge each pixel to a ``scale × scale`` block.

    Returns:
        ``(N·(H·scale + 4), 2·(W·scale + 4), 3)`` uint8: one row per pair, generated on the left.
    """
    if generated_images.shape != neighbour_images.shape or generated_images.dim() != 4 \
            or generated_images.shape[-1] != 4:
        raise ValueError(f"expected two straight RGBA (N, H, W, 4) stacks of one shape, got "
                         f"{tuple(generated_images.shape)} and {tuple(neighbour_images.shape)}")
    pairs = torch.stack([generated_images, neighbour_images], dim=1)  # (N, 2, H, W, 4)
    flat = flatten_rgba(pairs)  # (N, 2, H, W, 3) over a checkerboard
    if scale > 1:
        flat = flat.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    return image_grid(flat)


def memorisation_report(frontal: Tensor, features: Tensor, training_features: Tensor,
                        training_ids: Sequence[str], training_frontal: Callable[[str], Tensor],
                        rows: int, scale: int = 1) -> tuple[dict[str, float], np.ndarray]:
    """How close the samples come to the training set, and a picture of the closest pairs.

    Args:
        frontal: straight RGBA ``(N, H, W, 4)`` frontal renders of the samples.
        features / training_features: their CLIP features ``(N, D)`` and the training avatars'
            ``(M, D)`` (rows in ``training_ids`` order).
        training_frontal: a training avatar's frontal view ``(H, W, 4)`` by id (read lazily: only
            the shown neighbours are loaded).
        rows: how many samples the picture shows, beside their nearest training avatar.

    Returns:
        ``memorisation_nearest_distance_mean`` / ``_min`` over the samples, and the picture.
    """
    neighbours = nearest_training_neighbours(features, training_features, training_ids)
    distances = torch.tensor([n.distance for n in neighbours])
    metrics = {"memorisation_nearest_distance_mean": float(distances.mean()),
               "memorisation_nearest_distance_min": float(distances.min())}
    shown = neighbours[:rows]
    images = torch.stack([training_frontal(n.nearest_id) for n in shown])
    return metrics, memorisation_grid(frontal[:len(shown)], images, scale=scale)
