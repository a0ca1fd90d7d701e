"""The one way a fingerprint is made: a short SHA-256 hex digest of what determines an output.

Every deferred or resumable piece of work (an avatar folder, an import, the shared decoder, a
fitted tri-plane, a model's training data) records the fingerprint of what produced it; a rerun
reuses the output only when the fingerprint matches. Digests of the same parts never change, so
outputs written before stay valid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

FINGERPRINT_LENGTH = 16
"""Hex characters kept: 64 bits, plenty to tell apart the outputs of one project."""


def fingerprint(parts: Iterable[str | bytes], length: int | None = FINGERPRINT_LENGTH) -> str:
    """Hex SHA-256 of ``parts`` in order (strings as UTF-8), its first ``length`` characters
    (``None``: all 64)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
    return digest.hexdigest()[:length]


def json_fingerprint(payload: Any, length: int | None = FINGERPRINT_LENGTH,
                     **dumps_options: Any) -> str:
    """:func:`fingerprint` of ``payload`` as canonical JSON (sorted keys; ``dumps_options`` as
    for :func:`json.dumps`, e.g. ``default=str`` for dataclass fields such as paths)."""
    return fingerprint([json.dumps(payload, sort_keys=True, **dumps_options)], length)


def tensor_bytes(tensor: Tensor) -> bytes:
    """A tensor's raw bytes (on the CPU, contiguous), e.g. weights to fingerprint."""
    values = tensor.detach().cpu().contiguous()
    return values.view(torch.uint8).numpy().tobytes() if values.numel() else b""


def data_fingerprint(parts: Iterable[Tensor | str]) -> str:
    """Fingerprint of training data: tensors (shape, dtype and bytes) and strings, in order.

    Saved among a model's hyperparameters, so that ``resume: last`` continues a checkpoint only
    when the data it learned from is unchanged (new embeddings or re-fitted tri-planes retrain).
    """
    def pieces() -> Iterable[str | bytes]:
        for part in parts:
            if isinstance(part, Tensor):
                yield f"{tuple(part.shape)}{part.dtype}"
                yield tensor_bytes(part)
            else:
                yield part

    return fingerprint(pieces())
