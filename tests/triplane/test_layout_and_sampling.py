"""Tri-plane conventions: plane order, axes, align_corners, averaging, roll-out."""

import pytest
import torch

from rodin_pipelines.triplane.layout import PLANE_AXES, check_triplane_shape, roll_in, roll_out
from rodin_pipelines.triplane.sampling import sample_triplane, texel_centre

R = 8


def point_on_texel(plane: int, row: int, column: int, other: float) -> torch.Tensor:
    """A 3D point projecting onto texel (row, column)'s centre of ``plane``; ``other`` fills the
    axis the plane does not span."""
    width_axis, height_axis = PLANE_AXES[plane]
    point = torch.full((3,), other)
    point[width_axis], point[height_axis] = texel_centre(row, column, R)
    return point


@pytest.mark.parametrize("plane", [0, 1, 2])
def test_one_hot_texel_reads_back_only_where_it_projects(plane):
    row, column = 2, 5  # distinct, so swapping width and height would be caught
    planes = torch.zeros(3, 1, R, R)
    planes[plane, 0, row, column] = 1.0
    on_texel = torch.stack([point_on_texel(plane, row, column, other)
                            for other in (-0.9, -0.3, 0.4, 0.8)])
    # Averaging over the three planes: a texel's value arrives divided by 3.
    assert torch.allclose(sample_triplane(planes, on_texel)[:, 0], torch.full((4,), 1 / 3))
    # The same texel position read through either other plane, or the transposed texel: zero.
    elsewhere = [point_on_texel(p, row, column, 0.77) for p in range(3) if p != plane]
    elsewhere.append(point_on_texel(plane, column, row, 0.1))
    assert torch.allclose(sample_triplane(planes, torch.stack(elsewhere))[:, 0], torch.zeros(3))


def test_all_three_planes_are_read():
    planes = torch.zeros(3, 3, R, R)
    for plane in range(3):
        planes[plane, plane] = 1.0  # channel p is 1 everywhere on plane p only
    features = sample_triplane(planes, torch.rand(50, 3) * 1.6 - 0.8)
    assert torch.allclose(features, torch.full((50, 3), 1 / 3), atol=1e-6)


def test_batches_match_single_calls():
    planes = torch.randn(2, 3, 4, R, R)
    points = torch.rand(2, 20, 3) * 2 - 1
    batched = sample_triplane(planes, points)
    for b in range(2):
        assert torch.allclose(batched[b], sample_triplane(planes[b], points[b]), atol=1e-6)


def test_the_cube_faces_read_whole_edge_texels_not_half_of_them():
    # A field constant on every plane must be the same constant up to the faces and corners of
    # the cube; zero padding gave 2/3 of it on a face and 1/3 at a corner (the face slivers).
    planes = torch.full((3, 2, R, R), 0.7)
    on_faces = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.3], [0.2, 0.1, 1.0],
                             [1.0, 1.0, 1.0], [-1.0, -1.0, 1.0], [3.0, 3.0, 3.0]])
    assert torch.allclose(sample_triplane(planes, on_faces), torch.full((6, 2), 0.7))
    # Between the outermost texel centre and the face a plane holds its edge texel's value.
    planes = torch.zeros(3, 1, R, R)
    planes[0, 0, 3, R - 1] = 1.0  # xy plane: row 3, last column (x near +1)
    centre_x, centre_y = texel_centre(3, R - 1, R)
    beyond = torch.tensor([[x, centre_y, 0.0] for x in (centre_x, (centre_x + 1) / 2, 1.0)])
    assert torch.allclose(sample_triplane(planes, beyond)[:, 0], torch.full((3,), 1 / 3))


def test_roll_out_places_planes_side_by_side_and_roll_in_inverts_it():
    planes = torch.randn(2, 3, 5, R, R)
    rolled = roll_out(planes)
    assert rolled.shape == (2, 5, R, 3 * R)
    for plane in range(3):
        assert torch.equal(rolled[..., plane * R:(plane + 1) * R], planes[:, plane])
    assert torch.equal(roll_in(rolled), planes)
    assert torch.equal(roll_out(roll_in(rolled)), rolled)


def test_shape_errors_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(3, 16, 64, 64\)"):
        check_triplane_shape(torch.zeros(3, 8, 64, 64), channels=16, resolution=64)
    with pytest.raises(ValueError, match="3R"):
        roll_in(torch.zeros(4, 8, 20))
