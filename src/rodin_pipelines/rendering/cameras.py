"""THE camera convention of the project (architecture §3), one source of truth.

World: the avatar sits at the origin inside the cube [-1, 1]^3, +y is up, the face looks at +z.

Cameras follow NeRF-synthetic / Blender ``transforms.json``: a camera is a 4x4 camera-to-world
matrix whose camera looks down its own -z axis with +y up and +x to the right; the horizontal
field of view ``fov_x`` (``camera_angle_x``) sets the focal length in pixels
``focal = 0.5 * width / tan(0.5 * fov_x)``. Pixel ``(u, v)`` counts columns right and rows *down*
from the top-left corner, and its centre sits at ``(u + 0.5, v + 0.5)``; the principal point is
the image centre.

Orbit angles: azimuth 0 puts the camera on the +z axis (in front of the face), positive azimuth
turns it towards +x; positive elevation lifts it above the horizon (+y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

WORLD_UP = (0.0, 1.0, 0.0)
"""The world's up axis (+y)."""

FACE_DIRECTION = (0.0, 0.0, 1.0)
"""The direction the avatar's face looks at (+z); the frontal camera sits on this axis."""

SCENE_BOUND = 1.0
"""Half the side of the cube [-1, 1]^3 that holds every avatar."""

RIGIDITY_TOLERANCE = 1e-3
"""How far a camera-to-world rotation block may be from orthonormal before it is rejected."""


@dataclass(frozen=True)
class Cameras:
    """A set of pinhole cameras sharing one image size and field of view.

    Attributes:
        camera_to_world: ``(B, 4, 4)`` float32 matrices in the NeRF-synthetic convention.
        fov_x: horizontal field of view in radians (``camera_angle_x``).
        width: image width in pixels.
        height: image height in pixels.
    """

    camera_to_world: Tensor
    fov_x: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.camera_to_world.ndim != 3 or self.camera_to_world.shape[-2:] != (4, 4):
            raise ValueError(
                f"camera_to_world must be (B, 4, 4), got {tuple(self.camera_to_world.shape)}"
            )
        if not 0.0 < self.fov_x < math.pi:
            raise ValueError(f"fov_x must be in (0, pi) radians, got {self.fov_x}")

    @property
    def focal_length(self) -> float:
        """Focal length in pixels (the same along both axes: square pixels)."""
        return focal_length_from_fov(self.fov_x, self.width)

    def __len__(self) -> int:
        return self.camera_to_world.shape[0]

    def __getitem__(self, index: int | slice | Tensor) -> Cameras:
        matrices = self.camera_to_world[index]
        if matrices.ndim == 2:
            matrices = matrices[None]
        return Cameras(matrices, self.fov_x, self.width, self.height)

    def to(self, device: torch.device | str) -> Cameras:
        return Cameras(self.camera_to_world.to(device), self.fov_x, self.width, self.height)


def focal_length_from_fov(fov_x: float, width: int) -> float:
    """Focal length in pixels from the horizontal field of view (NeRF-synthetic's formula)."""
    return 0.5 * width / math.tan(0.5 * fov_x)


def look_at_camera_to_world(eye: Tensor, target: Tensor, up: Tensor | None = None) -> Tensor:
    """Camera-to-world matrices ``(B, 4, 4)`` of cameras at ``eye`` ``(B, 3)`` looking at ``target``.

    The camera's -z axis points from ``eye`` to ``target``; its +y axis is as close to ``up``
    (default world +y) as the viewing direction allows. Cameras looking straight up or down get
    +z as their reference up instead, so the matrix is always a proper rotation.
    """
    eye = torch.as_tensor(eye, dtype=torch.float32).reshape(-1, 3)
    target = torch.as_tensor(target, dtype=torch.float32).reshape(-1, 3).expand_as(eye)
    reference_up = torch.tensor(WORLD_UP if up is None else up, dtype=torch.float32)
    reference_up = reference_up.reshape(-1, 3).expand_as(eye).clone()
    backward = torch.nn.functional.normalize(eye - target, dim=-1)  # camera +z
    parallel = torch.cross(reference_up, backward, dim=-1).norm(dim=-1) < 1e-6
    reference_up[parallel] = torch.tensor(FACE_DIRECTION)
    right = torch.nn.functional.normalize(torch.cross(reference_up, backward, dim=-1), dim=-1)
    true_up = torch.cross(backward, right, dim=-1)
    matrix = torch.eye(4).repeat(eye.shape[0], 1, 1)
    matrix[:, :3, 0] = right
    matrix[:, :3, 1] = true_up
    matrix[:, :3, 2] = backward
    matrix[:, :3, 3] = eye
    return matrix


def orbit_camera_to_world(azimuth: Tensor, elevation: Tensor, radius: Tensor | float) -> Tensor:
    """Camera-to-world matrices ``(B, 4, 4)`` on a sphere around the origin, looking at it.

    Angles are in radians (``(B,)`` each): azimuth 0 is the frontal camera on +z, positive azimuth
    turns towards +x, positive elevation lifts the camera towards +y.
    """
    azimuth = torch.as_tensor(azimuth, dtype=torch.float32).reshape(-1)
    elevation = torch.as_tensor(elevation, dtype=torch.float32).reshape(-1)
    radius = torch.as_tensor(radius, dtype=torch.float32).reshape(-1).expand_as(azimuth)
    eye = torch.stack(
        [
            radius * torch.cos(elevation) * torch.sin(azimuth),
            radius * torch.sin(elevation),
            radius * torch.cos(elevation) * torch.cos(azimuth),
        ],
        dim=-1,
    )
    return look_at_camera_to_world(eye, torch.zeros_like(eye))


def azimuth_from_face(camera_to_world: Tensor) -> Tensor:
    """Orbit azimuth in degrees ``(B,)``, in (-180, 180], of cameras ``(B, 4, 4)``: how far
    around the avatar each sits from :data:`FACE_DIRECTION` (inverse of
    :func:`orbit_camera_to_world`'s azimuth)."""
    eye = camera_to_world[..., :3, 3]
    return torch.rad2deg(torch.atan2(eye[..., 0], eye[..., 2]))


def elevation_from_horizon(camera_to_world: Tensor) -> Tensor:
    """Orbit elevation in degrees ``(B,)``, in [-90, 90], of cameras ``(B, 4, 4)`` (inverse of
    :func:`orbit_camera_to_world`'s elevation)."""
    eye = camera_to_world[..., :3, 3]
    return torch.rad2deg(torch.asin((eye[..., 1] / eye.norm(dim=-1)).clamp(-1.0, 1.0)))


def frontal_camera_to_world(radius: float) -> Tensor:
    """The canonical frontal camera ``(1, 4, 4)``: on +z at ``radius``, level, facing the avatar."""
    return orbit_camera_to_world(torch.zeros(1), torch.zeros(1), radius)


def project_points(points: Tensor, cameras: Cameras) -> tuple[Tensor, Tensor]:
    """Project world points ``(P, 3)`` into every camera.

    Returns:
        pixels: ``(B, P, 2)`` continuous pixel coordinates ``(u, v)`` (u right, v down, pixel
            centres at half-integers).
        depth: ``(B, P)`` distance in front of the camera along its viewing axis (positive when
            the point is in front).
    """
    world_to_camera = torch.linalg.inv(cameras.camera_to_world)
    homogeneous = torch.cat([points, torch.ones_like(points[:, :1])], dim=-1)
    in_camera = torch.einsum("bij,pj->bpi", world_to_camera, homogeneous)[..., :3]
    depth = -in_camera[..., 2]
    focal = cameras.focal_length
    u = focal * in_camera[..., 0] / depth + 0.5 * cameras.width
    v = -focal * in_camera[..., 1] / depth + 0.5 * cameras.height
    return torch.stack([u, v], dim=-1), depth


def rigidity_problem(matrix: Tensor) -> str | None:
    """Why a 4x4 camera-to-world matrix is not a finite rigid transform, or ``None`` if it is."""
    if matrix.shape != (4, 4):
        return f"transform_matrix must be 4x4, got shape {tuple(matrix.shape)}"
    if not torch.isfinite(matrix).all():
        return "transform_matrix contains a non-finite value (NaN or inf)"
    bottom = matrix[3]
    if not torch.allclose(bottom, torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=matrix.dtype), atol=1e-4):
        return f"transform_matrix's last row must be [0, 0, 0, 1], got {bottom.tolist()}"
    rotation = matrix[:3, :3].double()
    gram_error = (rotation.T @ rotation - torch.eye(3, dtype=torch.float64)).abs().max().item()
    if gram_error > RIGIDITY_TOLERANCE:
        return (
            "transform_matrix is not rigid: its rotation block is not orthonormal "
            f"(max |R^T R - I| = {gram_error:.3g}; scale or shear is not allowed)"
        )
    if torch.linalg.det(rotation).item() < 0:
        return "transform_matrix is a reflection (determinant of its rotation block < 0)"
    return None
