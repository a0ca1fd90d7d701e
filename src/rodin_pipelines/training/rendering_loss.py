"""The upsampler's rendering loss (rodin-method §5): render the predicted clean tri-plane through
the frozen shared decoder on image patches and compare with the ground-truth renders.

Batches carry, per avatar, ``N`` rays of one random patch (``ray_origins``, ``ray_directions``
``(B, N, 3)``) and their premultiplied RGBA pixels ``ray_pixels`` ``(B, N, 4)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

from rodin_pipelines.rendering.rays import Rays
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_rays
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import BatchedTriplaneField
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import PlaneStatistics, denormalise_planes


class TriplaneRenderingLoss(nn.Module):
    """Mean squared error between patches rendered from ``x0`` and the true pixels.

    Args:
        decoder: the fit stage's shared decoder (frozen here).
        statistics: the plane statistics that normalised ``x0``.
        render: sampling along rays; ``empty_opacity`` is forced to 0 so no ray is dropped.
    """

    def __init__(self, decoder: TriplaneDecoder, statistics: PlaneStatistics,
                 render: VolumeRenderSettings) -> None:
        super().__init__()
        self.decoder = decoder.requires_grad_(False).eval()
        self.register_buffer("mean", statistics.mean.float(), persistent=False)
        self.register_buffer("std", statistics.std.float(), persistent=False)
        self.render = replace(render, empty_opacity=0.0)

    def forward(self, predicted_x0: Tensor, batch: dict[str, Any]) -> Tensor:
        """``predicted_x0`` ``(B, C, R, 3R)`` normalised, rolled out → scalar loss.

        Rendered in float32 also under mixed precision: compositing (exp of summed densities,
        cumulative products along rays) loses the surface in bf16/fp16."""
        with torch.autocast(predicted_x0.device.type, enabled=False):
            return self.patch_error(predicted_x0, batch)

    def patch_error(self, predicted_x0: Tensor, batch: dict[str, Any]) -> Tensor:
        planes = denormalise_planes(roll_in(predicted_x0.float()),
                                    PlaneStatistics(mean=self.mean, std=self.std))
        field = BatchedTriplaneField(planes, self.decoder)
        origins, directions = batch["ray_origins"], batch["ray_directions"]
        batch_size, rays_per_avatar = origins.shape[:2]
        rays = Rays(origins.reshape(-1, 3), directions.reshape(-1, 3))
        rendered = render_rays(field, rays, replace(self.render, chunk_rays=len(rays)))
        predicted = torch.cat([rendered.colour, rendered.opacity[:, None]], dim=-1)
        predicted = predicted.reshape(batch_size, rays_per_avatar, 4)
        return (predicted - batch["ray_pixels"]).pow(2).mean()
