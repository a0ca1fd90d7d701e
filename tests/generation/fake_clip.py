"""A stand-in for a loaded CLIP whose embeddings are known: texts by a lookup table, images by
their mean colour (so generation tests need no checkpoint)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rodin_pipelines.models.clip_loader import LoadedClip


class TableClip(nn.Module):
    """``encode_text``: row ``i`` of ``texts`` for token ``i``; ``encode_image``: each image's
    mean over pixels ``(B, 3)`` (in CLIP-normalised units), optionally unit length."""

    def __init__(self, texts: Tensor) -> None:
        super().__init__()
        self.register_buffer("texts", texts)

    def encode_text(self, tokens: Tensor, normalize: bool = False) -> Tensor:
        rows = self.texts[tokens]
        return nn.functional.normalize(rows, dim=-1) if normalize else rows

    def encode_image(self, images: Tensor, normalize: bool = False) -> Tensor:
        means = images.mean(dim=(2, 3))
        return nn.functional.normalize(means, dim=-1) if normalize else means


def table_clip(vocabulary: dict[str, list[float]], image_size: int = 8) -> LoadedClip:
    """A :class:`LoadedClip` embedding each text of ``vocabulary`` as its vector."""
    names = list(vocabulary)
    model = TableClip(torch.tensor([vocabulary[name] for name in names]))
    return LoadedClip(model=model, tokenizer=lambda texts: torch.tensor(
        [names.index(text) for text in texts]), image_size=image_size)
