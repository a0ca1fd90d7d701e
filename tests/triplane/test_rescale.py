"""The one plane resampling helper, against hand-computed texels."""

import torch

from rodin_pipelines.triplane.rescale import down_up_sample, resize_planes


def test_area_shrinking_averages_each_two_by_two_block_of_its_own_plane():
    planes = torch.arange(3 * 16, dtype=torch.float32).reshape(1, 3, 1, 4, 4)
    low = resize_planes(planes, 2, "area")
    assert low.shape == (1, 3, 1, 2, 2)
    # Plane 0, top-left block: texels 0, 1, 4, 5.
    assert low[0, 0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4
    # Plane 2 starts at 32: its bottom-right block is 42, 43, 46, 47 (no texel of plane 1).
    assert low[0, 2, 0, 1, 1] == (42 + 43 + 46 + 47) / 4


def test_bilinear_growing_keeps_a_constant_plane_and_never_blends_planes():
    planes = torch.stack([torch.full((2, 3, 3), float(k)) for k in range(3)])  # (3, C, R, R)
    fine = resize_planes(planes, 7)
    assert fine.shape == (3, 2, 7, 7)
    for k in range(3):
        assert torch.allclose(fine[k], torch.full((2, 7, 7), float(k)), atol=1e-6)


def test_down_up_sample_goes_through_the_low_resolution_and_back():
    planes = torch.randn(2, 3, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    degraded = down_up_sample(planes, 4)
    assert degraded.shape == planes.shape
    expected = resize_planes(resize_planes(planes, 4, "area"), 8)
    assert torch.equal(degraded, expected)
    # A 4×4 average brought back is smooth: less variance than the original.
    assert degraded.var() < planes.var()
