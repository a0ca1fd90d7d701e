"""The camera convention: NeRF-synthetic camera-to-world, -z forward, +y up, +z face."""

import math

import pytest
import torch

from rodin_pipelines.rendering.cameras import (
    Cameras,
    azimuth_from_face,
    elevation_from_horizon,
    focal_length_from_fov,
    frontal_camera_to_world,
    look_at_camera_to_world,
    orbit_camera_to_world,
    project_points,
    rigidity_problem,
)
from rodin_pipelines.rendering.rays import rays_from_cameras


def test_frontal_camera_sits_on_plus_z_looking_down_minus_z():
    matrix = frontal_camera_to_world(3.0)[0]
    assert torch.allclose(matrix[:3, 3], torch.tensor([0.0, 0.0, 3.0]))
    assert torch.allclose(matrix[:3, 2], torch.tensor([0.0, 0.0, 1.0]))  # camera +z = backwards
    assert torch.allclose(matrix[:3, 1], torch.tensor([0.0, 1.0, 0.0]))  # camera +y = world up


def test_positive_azimuth_turns_towards_plus_x_and_elevation_lifts():
    matrix = orbit_camera_to_world(torch.tensor([math.pi / 2]), torch.tensor([0.3]), 2.0)[0]
    eye = matrix[:3, 3]
    assert eye[0] > 1.5 and eye[1] == pytest.approx(2.0 * math.sin(0.3), abs=1e-6)


def test_azimuth_from_face_inverts_the_orbit_azimuth():
    azimuth = torch.tensor([0.0, 30.0, -75.0, 120.0, 179.0])
    elevation = torch.tensor([0.0, 0.5, -0.3, 0.9, 0.1])
    cameras = orbit_camera_to_world(torch.deg2rad(azimuth), elevation, 2.8)
    assert torch.allclose(azimuth_from_face(cameras), azimuth, atol=1e-3)
    assert azimuth_from_face(frontal_camera_to_world(3.0)).item() == pytest.approx(0.0)


def test_elevation_from_horizon_inverts_the_orbit_elevation():
    elevation = torch.tensor([0.0, 20.0, -35.0, 60.0, 89.0])
    azimuth = torch.tensor([0.0, 1.0, -2.0, 3.0, 0.5])
    cameras = orbit_camera_to_world(azimuth, torch.deg2rad(elevation), 2.8)
    assert torch.allclose(elevation_from_horizon(cameras), elevation, atol=1e-3)
    assert elevation_from_horizon(frontal_camera_to_world(3.0)).item() == pytest.approx(0.0)


def test_origin_projects_to_image_centre_for_cameras_looking_at_it():
    azimuth = torch.linspace(-3.0, 3.0, 7)
    elevation = torch.linspace(-0.5, 1.2, 7)
    cameras = Cameras(orbit_camera_to_world(azimuth, elevation, 2.5), 0.7, 40, 30)
    pixels, depth = project_points(torch.zeros(1, 3), cameras)
    assert torch.allclose(pixels[:, 0], torch.tensor([20.0, 15.0]).expand(7, 2), atol=1e-4)
    assert torch.allclose(depth[:, 0], torch.full((7,), 2.5), atol=1e-5)


def test_world_up_appears_up_in_the_image_and_plus_x_to_the_right_from_the_front():
    cameras = Cameras(frontal_camera_to_world(3.0), 0.7, 32, 32)
    pixels, _ = project_points(torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.0]]), cameras)
    assert pixels[0, 0, 1] < 16.0  # +y is above the centre (rows count down)
    assert pixels[0, 1, 0] > 16.0  # +x is right of the centre when looking at the face


def test_rays_and_projection_agree_pixel_for_pixel():
    cameras = Cameras(orbit_camera_to_world(torch.tensor([0.4, 2.0]),
                                            torch.tensor([0.2, -0.3]), 2.0), 0.9, 12, 10)
    rays = rays_from_cameras(cameras)
    points = rays.origins + 1.7 * rays.directions
    pixels, _ = project_points(points, cameras)
    v, u = torch.meshgrid(torch.arange(10) + 0.5, torch.arange(12) + 0.5, indexing="ij")
    expected = torch.stack([u, v], dim=-1).reshape(-1, 2)
    for camera in range(2):
        own = pixels[camera, camera * 120:(camera + 1) * 120]
        assert torch.allclose(own, expected, atol=1e-3)


def test_focal_length_matches_nerf_synthetic_formula():
    assert focal_length_from_fov(0.6911112070083618, 800) == pytest.approx(1111.1110311937682)


def test_look_at_straight_down_is_still_a_rotation():
    matrix = look_at_camera_to_world(torch.tensor([[0.0, 3.0, 0.0]]), torch.zeros(1, 3))[0]
    assert rigidity_problem(matrix.double()) is None
    assert torch.allclose(matrix[:3, 2], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)


@pytest.mark.parametrize(
    ("matrix", "words"),
    [
        (torch.diag(torch.tensor([2.0, 1.0, 1.0, 1.0])), "not rigid"),
        (torch.diag(torch.tensor([-1.0, 1.0, 1.0, 1.0])), "reflection"),
        (torch.full((4, 4), float("nan")), "non-finite"),
        (torch.eye(3), "4x4"),
    ],
)
def test_rigidity_problems_are_named(matrix, words):
    assert words in rigidity_problem(matrix.double())
