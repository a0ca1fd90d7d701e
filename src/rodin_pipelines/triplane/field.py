"""A tri-plane and the shared decoder as a radiance field for the one volume renderer."""

from __future__ import annotations

from torch import Tensor

from rodin_pipelines.rendering.cameras import SCENE_BOUND
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.sampling import sample_triplane


class TriplaneField:
    """``points (P, 3)`` → ``(density (P,), colour (P, 3))`` for one tri-plane ``(3, C, R, R)``."""

    def __init__(self, planes: Tensor, decoder: TriplaneDecoder, bound: float = SCENE_BOUND):
        self.planes = planes
        self.decoder = decoder
        self.bound = bound

    def __call__(self, points: Tensor) -> tuple[Tensor, Tensor]:
        return self.decoder(sample_triplane(self.planes, points, self.bound))
