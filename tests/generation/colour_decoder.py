"""A hand-set decoder for generation tests: a dense field whose colour is the sigmoid of the
three feature channels (grey for zero planes), so render objectives have known gradients."""

from __future__ import annotations

import torch

from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder

DENSITY = 5.0
"""Raw density before the softplus: ``softplus(5) ≈ 5.01`` per unit length, opaque over the cube."""


def colour_decoder() -> TriplaneDecoder:
    """Features ``(P, 3)`` → density ``softplus(5)`` everywhere, RGB ``sigmoid(features)``."""
    decoder = TriplaneDecoder(DecoderConfig(channels=3, hidden=4, layers=0, density_bias=0.0))
    layer = decoder.net[-1]
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.bias[0] = DENSITY
        layer.weight[1:, :] = torch.eye(3)
    return decoder.eval()
