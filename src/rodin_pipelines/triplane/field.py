"""A tri-plane and the shared decoder as a radiance field for the one volume renderer."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from rodin_pipelines.rendering.cameras import SCENE_BOUND, Cameras
from rodin_pipelines.rendering.compositing import straight_rgba
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
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


class BatchedTriplaneField:
    """``B`` tri-planes ``(B, 3, C, R, R)`` as one field over points grouped by avatar.

    The points ``(P, 3)`` it receives must come in ``B`` equal consecutive blocks, block ``b``
    belonging to avatar ``b`` (rays rendered without compaction, as the fitting does); the result
    keeps that order.
    """

    def __init__(self, planes: Tensor, decoder: TriplaneDecoder, bound: float = SCENE_BOUND):
        self.planes = planes
        self.decoder = decoder
        self.bound = bound

    def __call__(self, points: Tensor) -> tuple[Tensor, Tensor]:
        batch = self.planes.shape[0]
        if points.shape[0] % batch:
            raise ValueError(f"{points.shape[0]} points do not split into {batch} equal blocks")
        features = sample_triplane(self.planes, points.reshape(batch, -1, 3), self.bound)
        density, colour = self.decoder(features)
        return density.reshape(-1), colour.reshape(-1, 3)


@torch.no_grad()
def render_triplanes(planes: Tensor, decoder: TriplaneDecoder, cameras: Cameras,
                     render: VolumeRenderSettings) -> Tensor:
    """Straight RGBA ``(B, V, H, W, 4)`` (on the CPU) of tri-planes ``(B, 3, C, R, R)`` from
    ``V`` cameras, rendered on the decoder's device."""
    device = next(decoder.parameters()).device
    cameras = replace(cameras, camera_to_world=cameras.camera_to_world.to(device))
    views = []
    for plane in planes:
        colour, opacity = render_cameras(TriplaneField(plane.to(device), decoder), cameras,
                                         render)
        views.append(straight_rgba(colour, opacity).cpu())
    return torch.stack(views)
