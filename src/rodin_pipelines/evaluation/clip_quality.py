"""How well a CLIP links avatars and words: retrieval and zero-shot attribute accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rodin_pipelines.evaluation.figures import accuracy_chart
from rodin_pipelines.models.clip_embeddings import embed_texts
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.training.phrase_captions import (
    ATTRIBUTE_PROMPTS,
    PRESENCE_PROMPTS,
    attribute_prompt,
    presence_label,
)


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


def clip_quality_metrics(clip: LoadedClip, images: Tensor, heldout: pd.DataFrame,
                         every_index: pd.DataFrame) -> dict[str, float]:
    """Retrieval of the held-out captions and zero-shot accuracy of every attribute prompt and
    accessory presence, for unit image embeddings ``(B, D)`` of the ``B`` rows of ``heldout``
    (an avatar index table); ``every_index`` lists every avatar, for the attribute values."""
    metrics = {f"retrieval_{k}": v for k, v in retrieval_accuracy(
        images, embed_texts(clip, heldout["caption"].tolist())).items()}
    for attribute in ATTRIBUTE_PROMPTS:
        values = sorted(set(every_index[attribute]))
        classes = embed_texts(clip, [attribute_prompt(attribute, v) for v in values])
        accuracy = zero_shot_accuracy(images, heldout[attribute].tolist(), classes, values)
        metrics[f"zero_shot_{attribute}"] = accuracy["accuracy"]
        metrics[f"zero_shot_{attribute}_balanced"] = accuracy["balanced_accuracy"]
        metrics[f"zero_shot_{attribute}_chance"] = 1.0 / len(values)
    for accessory, prompts in PRESENCE_PROMPTS.items():
        classes = embed_texts(clip, list(prompts.values()))
        labels = [presence_label(v) for v in heldout[accessory]]
        accuracy = zero_shot_accuracy(images, labels, classes, list(prompts))
        metrics[f"zero_shot_{accessory}_presence_balanced"] = accuracy["balanced_accuracy"]
        metrics[f"zero_shot_{accessory}_presence_balanced_chance"] = 1.0 / len(prompts)
    return metrics


def clip_quality_chart(metrics: dict[str, float]) -> np.ndarray:
    """The held-out retrieval and zero-shot accuracies of :func:`clip_quality_metrics` (with
    ``heldout_avatars``, their count) beside chance, as a picture ``(H, W, 3)`` uint8."""
    rows = {f"retrieval {direction.replace('_', ' ')}": (metrics[f"retrieval_{direction}_top1"],
                                                         metrics["retrieval_chance"])
            for direction in ("image_to_text", "text_to_image")}
    for attribute in ATTRIBUTE_PROMPTS:
        rows[f"{attribute.replace('_', ' ')} (balanced)"] = (
            metrics[f"zero_shot_{attribute}_balanced"], metrics[f"zero_shot_{attribute}_chance"])
    for accessory in PRESENCE_PROMPTS:
        key = f"zero_shot_{accessory}_presence_balanced"
        rows[f"{accessory} vs none (balanced)"] = (metrics[key], metrics[f"{key}_chance"])
    return accuracy_chart(rows, title=f"domain CLIP on {int(metrics['heldout_avatars'])} "
                                      "held-out avatars' frontal views")
