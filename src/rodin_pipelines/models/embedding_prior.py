"""The prior: a diffusion network over CLIP image embeddings, conditioned on a CLIP text
embedding (DALL·E 2 style, rodin-method §4), as a residual MLP.

Called like every network of :mod:`rodin_pipelines.diffusion.denoiser`:
``prior(x (B, D), t (B,), latent (B, D_text) | None, latent_keep (B,) | None) → (B, D)``. Rows
whose text is dropped (``latent_keep`` False, or no latent at all) use a learned null vector, which
is what classifier-free guidance contrasts with.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

MAX_PERIOD = 10_000.0
"""Longest period of the sinusoidal timestep features (as in DDPM / guided-diffusion)."""


def sinusoidal_embedding(t: Tensor, dim: int) -> Tensor:
    """``(B,)`` (possibly fractional) timesteps → ``(B, dim)`` sin/cos features."""
    half = dim // 2
    frequencies = torch.exp(-math.log(MAX_PERIOD) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    return nn.functional.pad(embedding, (0, dim % 2))


class _ModulatedBlock(nn.Module):
    """LayerNorm → scale/shift from the conditioning → MLP, added back (zero-initialised)."""

    def __init__(self, width: int, condition_width: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.modulation = nn.Linear(condition_width, 2 * width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(2 * width, width))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, h: Tensor, condition: Tensor) -> Tensor:
        scale, shift = self.modulation(condition).chunk(2, dim=-1)
        return h + self.mlp(self.norm(h) * (1 + scale) + shift)


class EmbeddingPrior(nn.Module):
    """Residual MLP denoiser over ``(B, D)`` embeddings, conditioned on ``(B, D_text)`` texts.

    Args:
        embedding_dim: D, the CLIP image embedding's size.
        text_dim: D_text, the CLIP text embedding's size (0: unconditional only).
        width: hidden width. depth: residual blocks. dropout: inside the blocks.
    """

    def __init__(self, embedding_dim: int, text_dim: int, width: int = 512, depth: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.width = width
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.text_head = nn.Sequential(nn.Linear(max(text_dim, 1), width), nn.SiLU(),
                                       nn.Linear(width, width)) if text_dim else None
        self.null_text = nn.Parameter(torch.zeros(width))
        self.input = nn.Linear(embedding_dim, width)
        # The text also enters as a token-like input (not only as modulation): the prior's output
        # must depend on it strongly, and additive input conditioning learns that fastest.
        self.blocks = nn.ModuleList(_ModulatedBlock(width, width, dropout) for _ in range(depth))
        self.output = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, embedding_dim))

    def condition_vector(self, batch: int, latent: Tensor | None, latent_keep: Tensor | None,
                         device: torch.device) -> Tensor:
        """``(B, width)``: the text head's output, or the learned null vector where dropped."""
        null = self.null_text.expand(batch, -1)
        if latent is None or self.text_head is None:
            return null
        text = self.text_head(latent)
        if latent_keep is None:
            return text
        return torch.where(latent_keep[:, None].to(device), text, null)

    def forward(self, x: Tensor, t: Tensor, latent: Tensor | None = None,
                latent_keep: Tensor | None = None) -> Tensor:
        condition = self.time_mlp(sinusoidal_embedding(t, self.width))
        text = self.condition_vector(x.shape[0], latent, latent_keep, x.device)
        condition = condition + text
        h = self.input(x) + text
        for block in self.blocks:
            h = block(h, nn.functional.silu(condition))
        return self.output(h)
