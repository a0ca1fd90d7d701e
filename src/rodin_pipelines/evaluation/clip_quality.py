"""How well a CLIP links avatars and words: retrieval and zero-shot attribute accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def retrieval_accuracy(image_embeddings: Tensor, text_embeddings: Tensor) -> dict[str, float]:
    """Top-1 accuracy of matching ``B`` images to their ``B`` texts (row i belongs to text i),
    both ways, from unit embeddings ``(B, D)``. Chance is ``1 / B``."""
    similarity = image_embeddings @ text_embeddings.T
    truth = torch.arange(len(similarity))
    return {
        "image_to_text_top1": (similarity.argmax(dim=1) == truth).float().mean().item(),
        "text_to_image_top1": (similarity.argmax(dim=0) == truth).float().mean().item(),
        "chance": 1.0 / len(similarity),
    }


def zero_shot_accuracy(image_embeddings: Tensor, labels: Sequence[str],
                       class_embeddings: Tensor, class_names: Sequence[str]) -> dict[str, float]:
    """How often an image's most similar class prompt is its own label.

    ``class_embeddings`` ``(K, D)`` embed one prompt per class (e.g. "a person with red hair"),
    ``labels`` hold each image's class name. ``accuracy`` is the share of images right;
    ``balanced_accuracy`` the mean over the classes present of the share right within each, so
    that always answering the commonest class ("no hat") scores chance, ``1 / K``, and not the
    class's share.
    """
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"labels {unknown} have no class prompt")
    predicted = (image_embeddings @ class_embeddings.T).argmax(dim=1)
    truth = torch.tensor([index[label] for label in labels])
    right = (predicted == truth).float()
    per_class = [right[truth == k].mean() for k in truth.unique()]
    return {"accuracy": right.mean().item(),
            "balanced_accuracy": torch.stack(per_class).mean().item()}
