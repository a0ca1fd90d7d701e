"""CLIP's contrastive loss when a text may describe several images of a batch.

open_clip's ``ClipLoss`` takes image i and text i as the only pair; a phrase caption ("a person
wearing a hat") is also true of every other hatted avatar in the batch, and pushing those away
would teach the CLIP to ignore hats. Here each row's target is spread evenly over every image
(every text, the other way) the text is true of, as in supervised contrastive learning (Khosla
et al. 2020); with one positive per row it is exactly ``ClipLoss``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.functional import cross_entropy

from rodin_pipelines.training.phrase_captions import ANY


def described_images(assertions: Tensor, codes: Tensor) -> Tensor:
    """``(T, I)`` bool: whether text t's assertions ``(T, A)`` hold for image i's codes ``(I, A)``."""
    required = assertions[:, None, :]
    return ((required == ANY) | (required == codes[None, :, :])).all(dim=-1)


def multi_positive_clip_loss(image_features: Tensor, text_features: Tensor, positives: Tensor,
                             logit_scale: Tensor) -> Tensor:
    """Symmetric cross-entropy of unit features ``(B, D)`` against soft targets from
    ``positives`` ``(B_text, B_image)``, whose diagonal (each item's own pair) must be true."""
    if not bool(positives.diagonal().all()):
        raise ValueError("every text must describe its own image: check the caption assertions")
    logits = logit_scale * text_features @ image_features.T
    weights = positives.to(logits.dtype)
    text_to_image = cross_entropy(logits, weights / weights.sum(dim=1, keepdim=True))
    image_to_text = cross_entropy(logits.T, weights.T / weights.T.sum(dim=1, keepdim=True))
    return (text_to_image + image_to_text) / 2
