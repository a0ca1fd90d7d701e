"""Mesh export against analytic fields with known geometry, and one real procedural avatar."""

import math

import numpy as np
import pytest
import torch
import trimesh

from rodin_pipelines.avatars.attributes import sample_attributes
from rodin_pipelines.avatars.scene import SceneSettings, bake_avatar_scene
from rodin_pipelines.evaluation.floaters import largest_component_share
from rodin_pipelines.rendering.mesh_export import (
    density_grid_from_field,
    density_threshold_from_opacity,
    mesh_from_field,
    write_mesh,
)
from rodin_pipelines.triplane.sampling import sample_triplane

RESOLUTION = 64
VOXEL = 2.0 / (RESOLUTION - 1)
RED = (1.0, 0.0, 0.0)


def ellipsoid_field(centre, radii, colour=RED, peak=200.0, softness=0.02):
    """Density ``peak / 2`` exactly on the ellipsoid, smoothly higher inside; uniform colour."""
    centre_t, radii_t = torch.tensor(centre), torch.tensor(radii)

    def field(points):
        level = ((points - centre_t) / radii_t).norm(dim=-1)  # 1 on the surface
        density = peak * torch.sigmoid((1.0 - level) / softness)
        return density, torch.tensor(colour).expand(len(points), 3)

    return field


def test_density_grid_is_indexed_x_y_z_on_linspace_points():
    def field(points):
        x, y, z = points.unbind(-1)
        return x + 10.0 * y + 100.0 * z, torch.zeros(len(points), 3)

    # A chunk size that does not divide G^3 exercises the ragged last chunk.
    grid = density_grid_from_field(field, resolution=5, chunk_points=7)
    axis = torch.linspace(-1.0, 1.0, 5)
    assert grid.shape == (5, 5, 5)
    assert grid[4, 0, 0].item() == pytest.approx(1.0 - 10.0 - 100.0)
    assert grid[0, 4, 0].item() == pytest.approx(-1.0 + 10.0 - 100.0)
    assert grid[1, 2, 3].item() == pytest.approx(axis[1] + 10 * axis[2] + 100 * axis[3])


def test_threshold_from_opacity_matches_compositing_formula():
    assert density_threshold_from_opacity(0.5, math.log(2.0)) == pytest.approx(1.0)
    density = density_threshold_from_opacity(0.9, 0.01)
    assert 1.0 - math.exp(-density * 0.01) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        density_threshold_from_opacity(1.0, 0.01)


def test_sphere_is_watertight_outward_with_the_right_volume_radius_and_colour():
    mesh = mesh_from_field(
        ellipsoid_field((0.0, 0.0, 0.0), (0.5, 0.5, 0.5)), RESOLUTION, density_threshold=100.0
    )
    assert mesh.is_watertight
    expected = 4.0 / 3.0 * math.pi * 0.5**3
    assert mesh.volume > 0  # outward faces: positive signed volume
    assert abs(mesh.volume - expected) / expected < 0.05
    radius = np.linalg.norm(mesh.vertices, axis=1)
    assert abs(radius.mean() - 0.5) < 0.02
    # Normals point away from the centre, not merely consistently.
    assert (np.einsum("vi,vi->v", mesh.vertex_normals, mesh.vertices) > 0).all()
    colours = mesh.visual.vertex_colors
    assert colours.dtype == np.uint8 and colours.shape == (len(mesh.vertices), 4)
    assert (colours == [255, 0, 0, 255]).all()


def test_default_threshold_puts_the_surface_where_one_voxel_reaches_half_opacity():
    # Density falls linearly with radius: 100 * (0.8 - r). One voxel reaches alpha 0.5 at
    # density ln 2 / voxel ≈ 21.8, i.e. at r = 0.8 - 0.218.
    def field(points):
        density = (100.0 * (0.8 - points.norm(dim=-1))).clamp_min(0.0)
        return density, torch.ones(len(points), 3)

    mesh = mesh_from_field(field, RESOLUTION)
    expected_radius = 0.8 - math.log(2.0) / VOXEL / 100.0
    assert abs(np.linalg.norm(mesh.vertices, axis=1).mean() - expected_radius) < 0.01


def test_off_centre_ellipsoid_lands_at_its_world_position_and_extents():
    centre, radii = np.array([0.2, -0.1, 0.3]), np.array([0.3, 0.5, 0.2])
    mesh = mesh_from_field(
        ellipsoid_field(tuple(centre), tuple(radii)), RESOLUTION, density_threshold=100.0
    )
    lower, upper = mesh.bounds
    # A third of a voxel: tight enough that an off-by-one-voxel offset or swapped axes fail.
    np.testing.assert_allclose(lower, centre - radii, atol=VOXEL / 3)
    np.testing.assert_allclose(upper, centre + radii, atol=VOXEL / 3)
    assert mesh.volume > 0


def test_field_cut_by_the_cube_is_capped_on_its_faces():
    def full(points):
        return torch.full((len(points),), 50.0), torch.ones(len(points), 3)

    mesh = mesh_from_field(full, resolution=8)
    assert mesh.is_watertight
    np.testing.assert_allclose(mesh.bounds, [[-1, -1, -1], [1, 1, 1]])
    assert mesh.volume == pytest.approx(8.0, rel=1e-6)


def test_a_triplane_of_empty_code_adds_nothing_on_the_cube_faces():
    # A decoder that is empty only at its learned empty code (as the shared decoder is): the
    # cube's faces must read that code, or each face grows a sliver apart from the head.
    empty_code = torch.full((3, 4, 8, 8), 1.0)
    head = ellipsoid_field((0.0, 0.0, 0.0), (0.4, 0.5, 0.4))

    def triplane_and_head(points):
        features = sample_triplane(empty_code, points)  # (P, 4)
        strangeness = (features - 1.0).abs().amax(dim=-1)  # 0 at the empty code
        head_density, colour = head(points)
        return head_density + 100.0 * torch.relu(strangeness - 0.2), colour

    mesh = mesh_from_field(triplane_and_head, resolution=RESOLUTION)
    assert largest_component_share(mesh) == 1.0
    assert np.abs(mesh.bounds).max() < 0.55


def test_empty_field_raises():
    def empty(points):
        return torch.zeros(len(points)), torch.zeros(len(points), 3)

    with pytest.raises(ValueError, match="empty"):
        mesh_from_field(empty, resolution=16)


@pytest.mark.parametrize("suffix", [".ply", ".glb"])
def test_files_round_trip_vertices_and_colours(tmp_path, suffix):
    green = ellipsoid_field((0.0, 0.1, 0.0), (0.4, 0.3, 0.35), colour=(0.0, 0.5, 0.25))
    mesh = mesh_from_field(green, resolution=24, density_threshold=100.0)
    path = tmp_path / "avatar" / f"mesh{suffix}"
    write_mesh(mesh, path)
    loaded = trimesh.load(path, force="mesh", process=False)
    assert len(loaded.vertices) == len(mesh.vertices)
    assert len(loaded.faces) == len(mesh.faces)
    np.testing.assert_allclose(loaded.vertices, mesh.vertices, atol=1e-5)
    np.testing.assert_array_equal(loaded.visual.vertex_colors, mesh.visual.vertex_colors)
    assert loaded.visual.vertex_colors[0].tolist() == [0, 128, 64, 255]
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporaries left


def test_unknown_suffix_raises(tmp_path):
    mesh = trimesh.creation.box()
    with pytest.raises(ValueError, match="must end in"):
        write_mesh(mesh, tmp_path / "mesh.obj")
    assert not (tmp_path / "mesh.obj").exists()


def test_procedural_avatar_exports_a_bust_inside_the_cube():
    scene = bake_avatar_scene(sample_attributes(0), SceneSettings(grid_resolution=48))
    mesh = mesh_from_field(scene, RESOLUTION)
    lower, upper = mesh.bounds
    assert (lower >= -1.0).all() and (upper <= 1.0).all()
    assert upper[1] > 0.4  # the head
    assert lower[1] < -0.5  # the shoulders
    assert mesh.is_watertight and mesh.volume > 0  # the bust's cut is capped
    colours = mesh.visual.vertex_colors
    assert len(np.unique(colours[:, :3], axis=0)) > 10
    assert (colours[:, 3] == 255).all()
