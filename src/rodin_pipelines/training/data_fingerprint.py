"""A short hash of a model's training data, saved with its hyperparameters.

``resume: last`` continues a checkpoint only when the hyperparameters match
(:func:`~rodin_pipelines.training.trainer_factory.fit_resumably`); with the data's fingerprint
among them, a model whose upstream data changed (new embeddings, re-fitted tri-planes) retrains
instead of resuming weights learned on the old data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import torch
from torch import Tensor

FINGERPRINT_LENGTH = 16


def data_fingerprint(parts: Iterable[Tensor | str]) -> str:
    """Hex digest over tensors (shape, dtype and bytes) and strings, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Tensor):
            values = part.detach().cpu().contiguous()
            digest.update(f"{tuple(values.shape)}{values.dtype}".encode())
            digest.update(values.view(torch.uint8).numpy().tobytes() if values.numel() else b"")
        else:
            digest.update(part.encode())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]
