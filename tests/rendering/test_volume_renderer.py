"""Rays, box clipping, sampling and the full volume renderer on fields with known answers."""

import math

import torch

from rodin_pipelines.rendering.cameras import Cameras, frontal_camera_to_world
from rodin_pipelines.rendering.ray_box import near_far_from_box
from rodin_pipelines.rendering.ray_samplers import importance_distances, stratified_distances
from rodin_pipelines.rendering.rays import Rays
from rodin_pipelines.rendering.volume_renderer import (
    VolumeRenderSettings,
    render_cameras,
    render_rays,
)


def ball_field(radius: float, density: float, colour=(0.2, 0.4, 0.6)):
    def field(points):
        inside = points.norm(dim=-1) < radius
        return inside.float() * density, torch.tensor(colour).expand(points.shape[0], 3)

    return field


def test_box_clipping_of_hitting_missing_and_inside_rays():
    rays = Rays(
        torch.tensor([[0.0, 0.0, 3.0], [0.0, 5.0, 3.0], [0.0, 0.0, 0.0]]),
        torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]),
    )
    near, far, hit = near_far_from_box(rays, 1.0)
    assert hit.tolist() == [True, False, True]
    assert torch.allclose(near, torch.tensor([2.0, near[1].item(), 0.0]))
    assert far[0].item() == 4.0 and far[2].item() == 1.0 and far[1] == near[1]


def test_stratified_samples_fall_one_per_bin():
    near, far = torch.zeros(5), torch.full((5,), 2.0)
    t = stratified_distances(near, far, 4, torch.Generator().manual_seed(0))
    bins = torch.floor(t / 0.5)
    assert torch.equal(bins, torch.arange(4.0).expand(5, 4))


def test_importance_samples_follow_the_weights():
    edges = torch.linspace(0.0, 1.0, 11).expand(1, 11)
    weights = torch.zeros(1, 10)
    weights[0, 7] = 1.0
    t = importance_distances(edges, weights, 200, torch.Generator().manual_seed(0))
    assert ((t >= 0.7) & (t <= 0.8)).float().mean() > 0.95


def test_opacity_of_a_ball_matches_beer_lambert_through_its_centre():
    radius, density = 0.5, 3.0
    rays = Rays(torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([[0.0, 0.0, -1.0]]))
    settings = VolumeRenderSettings(coarse_samples=512, fine_samples=0)
    out = render_rays(ball_field(radius, density), rays, settings)
    expected = 1.0 - math.exp(-density * 2 * radius)
    assert abs(out.opacity.item() - expected) < 5e-3
    assert torch.allclose(out.colour / out.opacity, torch.tensor([[0.2, 0.4, 0.6]]), atol=1e-5)
    assert 2.5 < out.depth.item() / out.opacity.item() < 3.5  # the ball's slab is 2.5..3.5


def test_importance_sampling_sharpens_an_opaque_surface():
    rays = Rays(torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([[0.0, 0.0, -1.0]]))
    coarse_only = VolumeRenderSettings(coarse_samples=8, fine_samples=0)
    with_fine = VolumeRenderSettings(coarse_samples=8, fine_samples=64)
    truth = 3.0 - 0.5  # the first surface of an opaque ball of radius 0.5
    field = ball_field(0.5, 1e3)
    depth_coarse = render_rays(field, rays, coarse_only).depth.item()
    depth_fine = render_rays(field, rays, with_fine).depth.item()
    assert abs(depth_fine - truth) < abs(depth_coarse - truth)
    assert abs(depth_fine - truth) < 0.02


def test_render_cameras_shapes_and_an_empty_border():
    cameras = Cameras(frontal_camera_to_world(3.0), 0.7, 16, 12)
    colour, opacity = render_cameras(ball_field(0.3, 100.0), cameras, VolumeRenderSettings())
    assert colour.shape == (1, 12, 16, 3) and opacity.shape == (1, 12, 16)
    assert opacity[0, 6, 8] > 0.99 and opacity[0, 0, 0] == 0.0


def test_gradients_flow_to_the_field():
    parameter = torch.tensor(2.0, requires_grad=True)

    def field(points):
        inside = (points.norm(dim=-1) < 0.5).float()
        return inside * parameter, torch.ones(points.shape[0], 3) * 0.5

    rays = Rays(torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([[0.0, 0.0, -1.0]]))
    out = render_rays(field, rays, VolumeRenderSettings(coarse_samples=64, fine_samples=16,
                                                         jitter=True))
    out.opacity.sum().backward()
    assert parameter.grad is not None and parameter.grad.item() > 0
