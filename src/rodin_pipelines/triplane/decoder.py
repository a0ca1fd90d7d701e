"""The MLP decoder shared by every avatar: averaged tri-plane feature → density and colour."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from rodin_pipelines.fingerprints import fingerprint, tensor_bytes


@dataclass(frozen=True)
class DecoderConfig:
    """Plain-data description of the decoder (stored as JSON beside its weights).

    Attributes:
        channels: tri-plane feature channels C (the decoder's input width).
        hidden: width of the hidden layers.
        layers: number of hidden layers.
        density_bias: added before the softplus, negative so empty space starts near zero.
    """

    channels: int = 16
    hidden: int = 64
    layers: int = 2
    density_bias: float = -1.0

    def to_dict(self) -> dict:
        return asdict(self)


class TriplaneDecoder(nn.Module):
    """Feature ``(P, C)`` → density ``(P,)`` (softplus(raw + bias), ≥ 0) and RGB ``(P, 3)``
    (sigmoid). View-independent, like the avatars' shading."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.channels] + [config.hidden] * config.layers
        layers: list[nn.Module] = []
        for inputs, outputs in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(inputs, outputs), nn.SiLU()]
        layers.append(nn.Linear(widths[-1], 4))
        self.net = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        raw = self.net(features)
        density = nn.functional.softplus(raw[..., 0] + self.config.density_bias)
        colour = torch.sigmoid(raw[..., 1:])
        return density, colour


def decoder_fingerprint(decoder: TriplaneDecoder) -> str:
    """Short hash of the decoder's config and weights: tri-planes record which decoder they
    belong to, and a rerun refits them when it changes."""
    weights = sorted(decoder.state_dict().items())
    return fingerprint([repr(sorted(decoder.config.to_dict().items())),
                        *(piece for name, tensor in weights
                          for piece in (name, tensor_bytes(tensor)))])
