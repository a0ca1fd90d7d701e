"""The upsampler's rendering loss: zero at the true tri-plane, and float32 under mixed precision."""

from __future__ import annotations

import torch

from rodin_pipelines.rendering.rays import Rays
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_rays
from rodin_pipelines.training.rendering_loss import TriplaneRenderingLoss
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.field import BatchedTriplaneField
from rodin_pipelines.triplane.layout import roll_in, roll_out
from rodin_pipelines.triplane.normalisation import PlaneStatistics

CHANNELS, RESOLUTION, RAYS = 4, 8, 16


def patch_batch(loss: TriplaneRenderingLoss, planes: torch.Tensor) -> dict[str, torch.Tensor]:
    """Rays from a sphere of radius 2.5 towards the cube, and the pixels ``planes`` render."""
    generator = torch.Generator().manual_seed(0)
    origins = torch.nn.functional.normalize(torch.randn(1, RAYS, 3, generator=generator), dim=-1)
    origins = 2.5 * origins
    targets = 0.3 * torch.randn(1, RAYS, 3, generator=generator)
    directions = torch.nn.functional.normalize(targets - origins, dim=-1)
    batch = {"ray_origins": origins, "ray_directions": directions,
             "ray_pixels": torch.zeros(1, RAYS, 4)}
    with torch.no_grad():
        batch["ray_pixels"] = rendered_pixels(loss, planes, batch)
    return batch


def rendered_pixels(loss, planes, batch):
    """Premultiplied RGBA ``(1, RAYS, 4)`` of ``planes`` along the batch's rays."""
    field = BatchedTriplaneField(roll_in(planes), loss.decoder)
    rays = Rays(batch["ray_origins"].reshape(-1, 3), batch["ray_directions"].reshape(-1, 3))
    rendered = render_rays(field, rays, loss.render)
    return torch.cat([rendered.colour, rendered.opacity[:, None]], dim=-1)[None]


def make_loss() -> tuple[TriplaneRenderingLoss, torch.Tensor]:
    torch.manual_seed(0)
    decoder = TriplaneDecoder(DecoderConfig(channels=CHANNELS, hidden=16, density_bias=0.0))
    statistics = PlaneStatistics(mean=torch.zeros(CHANNELS), std=torch.ones(CHANNELS))
    loss = TriplaneRenderingLoss(decoder, statistics,
                                 VolumeRenderSettings(coarse_samples=16, fine_samples=0))
    planes = roll_out(torch.randn(1, 3, CHANNELS, RESOLUTION, RESOLUTION))
    return loss, planes


def test_the_loss_is_zero_at_the_planes_that_rendered_the_pixels() -> None:
    loss, planes = make_loss()
    batch = patch_batch(loss, planes)
    assert float(loss(planes, batch)) < 1e-12
    assert float(loss(torch.randn_like(planes), batch)) > 1e-6  # another tri-plane


def test_under_bf16_autocast_it_renders_in_float32_and_gives_gradients() -> None:
    loss, planes = make_loss()
    batch = patch_batch(loss, planes)
    noisy = (planes + 0.5 * torch.randn_like(planes)).requires_grad_(True)
    reference = loss(noisy, batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = loss(noisy, batch)
    assert mixed.dtype == torch.float32
    assert torch.allclose(mixed, reference, rtol=1e-6), (float(mixed), float(reference))
    mixed.backward()
    assert noisy.grad is not None and torch.isfinite(noisy.grad).all()
    assert noisy.grad.abs().sum() > 0
