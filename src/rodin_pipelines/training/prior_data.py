"""Training pairs for the prior: an avatar's frontal CLIP image embedding and the CLIP text
embedding of one of its captions (caption or paraphrase, drawn afresh each time)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset


class EmbeddingTextPairs(Dataset):
    """``{"x0": (D,), "latent": (D_text,)}`` items, one per avatar.

    Args:
        image_embeddings: ``(N, D)`` standardised frontal embeddings.
        text_embeddings: per avatar, ``(K_i, D_text)`` embeddings of its captions.
    """

    def __init__(self, image_embeddings: Tensor, text_embeddings: list[Tensor]) -> None:
        if len(text_embeddings) != image_embeddings.shape[0]:
            raise ValueError(f"{image_embeddings.shape[0]} image embeddings but "
                             f"{len(text_embeddings)} caption sets; they must pair one to one")
        if any(texts.shape[0] == 0 for texts in text_embeddings):
            raise ValueError("an avatar has no caption embedding; every avatar needs a caption")
        self.images = image_embeddings
        self.texts = text_embeddings

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        texts = self.texts[index]
        choice = int(torch.randint(texts.shape[0], ()).item())
        return {"x0": self.images[index], "latent": texts[choice]}
