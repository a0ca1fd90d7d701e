"""The occupancy grid on an analytic ball, and empty-space skipping in the volume renderer."""

import torch

from rodin_pipelines.rendering.cameras import Cameras, orbit_camera_to_world
from rodin_pipelines.rendering.occupancy_grid import OccupancyGrid
from rodin_pipelines.rendering.rays import rays_from_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_rays

CENTRE = torch.tensor([0.1, -0.2, 0.05])
RADIUS = 0.4


class BallField:
    """Density ``scale`` inside a ball (exactly 0 outside), colour varying with position;
    counts the points it is asked about."""

    def __init__(self) -> None:
        self.scale = torch.tensor(6.0, requires_grad=True)
        self.tint = torch.tensor([0.2, 0.5, 0.7], requires_grad=True)
        self.queried = 0

    def __call__(self, points):
        self.queried += points.shape[0]
        inside = ((points - CENTRE).norm(dim=-1) < RADIUS).float()
        colour = torch.sigmoid(self.tint + points)
        return inside * self.scale, colour


def test_the_occupied_box_is_the_balls_bounds_within_a_cell_and_its_dilation():
    grid = OccupancyGrid.from_field(BallField(), resolution=16)
    cell = 2.0 / 16
    lower, upper = grid.occupied_box()
    ball_lower, ball_upper = CENTRE - RADIUS, CENTRE + RADIUS
    # Every occupied-cell box contains the ball and overshoots by at most its own cell + dilation.
    assert torch.all(lower <= ball_lower) and torch.all(upper >= ball_upper)
    assert torch.all(ball_lower - lower <= 2 * cell) and torch.all(upper - ball_upper <= 2 * cell)
    assert 0.03 < grid.occupied_fraction < 0.25  # the ball is 3.4% of the cube, plus its shell


def test_is_occupied_inside_the_ball_and_not_far_outside_it():
    grid = OccupancyGrid.from_field(BallField(), resolution=16)
    direction = torch.nn.functional.normalize(torch.randn(200, 3), dim=-1)
    inside = CENTRE + direction * RADIUS * torch.rand(200, 1)
    assert grid.is_occupied(inside).all()
    far = torch.tensor([[0.95, 0.95, 0.95], [-0.9, 0.8, -0.9], [0.9, -0.95, 0.9],
                        [1.5, 0.0, 0.0]])  # the last one is outside the cube
    assert not grid.is_occupied(far).any()


def test_an_empty_field_has_an_empty_box_and_renders_nothing():
    def empty(points):
        return torch.zeros(points.shape[0]), torch.zeros(points.shape[0], 3)

    grid = OccupancyGrid.from_field(empty, resolution=8)
    lower, upper = grid.occupied_box()
    assert grid.occupied_fraction == 0.0 and torch.equal(lower, upper)
    cameras = Cameras(orbit_camera_to_world(torch.zeros(1), torch.zeros(1), 3.0), 0.8, 8, 8)
    out = render_rays(empty, rays_from_cameras(cameras), VolumeRenderSettings(), occupancy=grid)
    assert out.opacity.abs().max() == 0.0


def test_skipping_empty_cells_renders_the_same_and_gradients_reach_the_field():
    cameras = Cameras(
        orbit_camera_to_world(torch.tensor([0.0, 1.2]), torch.tensor([0.1, 0.4]), 2.8), 0.7, 20, 20
    )
    rays = rays_from_cameras(cameras)
    settings = VolumeRenderSettings(coarse_samples=48, fine_samples=16, jitter=True)
    field = BallField()
    grid = OccupancyGrid.from_field(field, resolution=16)

    outputs, gradients, queried = [], [], []
    for occupancy in (None, grid):
        field.queried = 0
        out = render_rays(field, rays, settings, torch.Generator().manual_seed(3),
                          occupancy=occupancy)
        (out.colour.sum() + out.opacity.sum()).backward()
        outputs.append(out)
        gradients.append((field.scale.grad.clone(), field.tint.grad.clone()))
        queried.append(field.queried)
        field.scale.grad, field.tint.grad = None, None

    plain, skipped = outputs
    assert plain.opacity.max() > 0.9  # the ball is seen
    assert torch.allclose(skipped.colour, plain.colour, atol=1e-4, rtol=0)
    assert torch.allclose(skipped.opacity, plain.opacity, atol=1e-4, rtol=0)
    for with_grid, without in zip(gradients[1], gradients[0]):
        assert with_grid.abs().sum() > 0
        assert torch.allclose(with_grid, without, rtol=1e-4, atol=1e-5)
    assert queried[1] < 0.5 * queried[0]  # most samples were in empty cells and never queried
