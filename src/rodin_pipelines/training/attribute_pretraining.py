"""Attribute pre-training of the CLIP's image tower: a curriculum before the contrastive loss.

Contrastive training on a few hundred avatars learns the cues that separate most pairs of a batch
(clothing and hair colours) and, within the default profile's steps, never finds small ones:
glasses stayed at chance on unseen avatars even with counterfactual captions and image twins
that differ only in glasses (``benchmarks/clip_glasses``). The image tower alone, trained on the
attribute labels the procedural avatars carry, finds them. So the first steps train the image
tower to classify attributes (one linear head per attribute on its embedding, one cross-entropy
each), then the contrastive loss takes over with a tower that already sees them.

Labels are the codes of :func:`~rodin_pipelines.training.phrase_captions.attribute_codes`; a
face-only attribute (glasses) counts only on views that show the face, and avatars without
attributes (imported) count for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rodin_pipelines.avatars.attributes import categorical_attribute_types
from rodin_pipelines.training.phrase_captions import CONSTRAINED_ATTRIBUTES, FACE_ONLY_ATTRIBUTES

PRESENCE_ATTRIBUTES = ("has_glasses", "has_hat")
"""Derived yes/no codes among :data:`CONSTRAINED_ATTRIBUTES`."""


@dataclass(frozen=True)
class AttributePretraining:
    """The curriculum's first phase (config block ``encoder.training.attribute_pretraining``).

    Attributes:
        steps: optimisation steps of attribute classification before the contrastive loss
            (0: none, open_clip's recipe alone).
        attributes: which attributes the image tower learns to classify.
    """

    steps: int = 0
    attributes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", tuple(self.attributes))
        known = class_counts_by_attribute()
        unknown = [a for a in self.attributes if a not in known]
        if unknown:
            raise ValueError(f"attribute_pretraining.attributes: {unknown} are not categorical "
                             f"attributes; choose among {sorted(known)}")


def class_counts_by_attribute() -> dict[str, int]:
    """How many values each categorical attribute of :data:`CONSTRAINED_ATTRIBUTES` takes."""
    enums = categorical_attribute_types()
    counts = {name: len(enums[name]) for name in CONSTRAINED_ATTRIBUTES if name in enums}
    return {**counts, **{name: 2 for name in PRESENCE_ATTRIBUTES}}


class AttributeHeads(nn.Module):
    """Linear classifiers ``(B, D) → (B, classes)``, one per attribute, on image embeddings."""

    def __init__(self, embedding_dim: int, attributes: Sequence[str]) -> None:
        super().__init__()
        counts = class_counts_by_attribute()
        self.attributes = tuple(attributes)
        self.columns = [CONSTRAINED_ATTRIBUTES.index(name) for name in self.attributes]
        self.heads = nn.ModuleList(nn.Linear(embedding_dim, counts[name])
                                   for name in self.attributes)

    def loss(self, features: Tensor, codes: Tensor, face_visible: Tensor
             ) -> tuple[Tensor, dict[str, Tensor]]:
        """Mean cross-entropy over attributes of image embeddings ``(B, D)`` against avatar codes
        ``(B, A)``; ``face_visible`` ``(B,)`` bool. Returns it and each attribute's accuracy."""
        losses, accuracy = [], {}
        for name, column, head in zip(self.attributes, self.columns, self.heads):
            labels = codes[:, column]
            valid = labels >= 0
            if name in FACE_ONLY_ATTRIBUTES:
                valid = valid & face_visible
            if not bool(valid.any()):
                continue
            logits = head(features[valid])
            losses.append(nn.functional.cross_entropy(logits, labels[valid]))
            accuracy[name] = (logits.argmax(-1) == labels[valid]).float().mean().detach()
        if not losses:
            return features.sum() * 0.0, accuracy
        return torch.stack(losses).mean(), accuracy
