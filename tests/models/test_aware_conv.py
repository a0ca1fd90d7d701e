"""3D-aware convolution and per-plane ops: which output texels a change can reach, in numbers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rodin_pipelines.models.aware_conv import (AwareConv2d, PlaneDim, aware_features,
                                               shared_axis_reads)
from rodin_pipelines.models.plane_ops import (PlaneConv2d, PlaneDownsample, PlaneGroupNorm,
                                              PlaneUpsample, planes_from_rolled,
                                              rolled_from_planes, upsample_rolled_out)
from rodin_pipelines.triplane.layout import roll_in, roll_out

XY, XZ, YZ = 0, 1, 2
ROW, COL = "row", "col"

# Written by hand from the convention "XY spans (x, y), XZ (x, z), YZ (y, z), first coordinate
# along the width (columns)": (target, source) -> (where the shared axis runs in the source,
# where it runs in the target). Independent of the code, which derives it from PLANE_AXES.
SHARED = {
    (XY, XZ): (COL, COL),  # x: XZ's columns, XY's columns
    (XY, YZ): (COL, ROW),  # y: YZ's columns, XY's rows
    (XZ, XY): (COL, COL),  # x
    (XZ, YZ): (ROW, ROW),  # z: YZ's rows, XZ's rows
    (YZ, XY): (ROW, COL),  # y: XY's rows, YZ's columns
    (YZ, XZ): (ROW, ROW),  # z
}
_DIM = {COL: PlaneDim.WIDTH, ROW: PlaneDim.HEIGHT}


def test_shared_axes_derived_from_plane_axes_match_the_hand_table() -> None:
    derived = {(r.target, r.source): (r.source_dim, r.target_dim) for r in shared_axis_reads()}
    assert derived == {key: (_DIM[s], _DIM[t]) for key, (s, t) in SHARED.items()}
    assert [(r.target, r.world_axis) for r in shared_axis_reads()] == [
        (XY, 0), (XY, 1), (XZ, 0), (XZ, 2), (YZ, 1), (YZ, 2)]


def test_aware_features_are_own_plane_then_means_along_the_shared_axis() -> None:
    planes = torch.randn(2, 3, 4, 5, 5, dtype=torch.float64)
    features = aware_features(planes)  # (B, 3, 3C, R, R)
    assert features.shape == (2, 3, 12, 5, 5)
    xy, xz, yz = planes.unbind(1)
    # XY at (row y, col x) reads mean_z XZ[z, x] and mean_z YZ[z, y].
    expected_xy = torch.cat([xy, xz.mean(-2, keepdim=True).expand_as(xy),
                             yz.mean(-2).unsqueeze(-1).expand_as(xy)], dim=1)
    # XZ at (row z, col x) reads mean_y XY[y, x] and mean_y YZ[z, y].
    expected_xz = torch.cat([xz, xy.mean(-2, keepdim=True).expand_as(xz),
                             yz.mean(-1, keepdim=True).expand_as(xz)], dim=1)
    # YZ at (row z, col y) reads mean_x XY[y, x] and mean_x XZ[z, x].
    expected_yz = torch.cat([yz, xy.mean(-1).unsqueeze(-2).expand_as(yz),
                             xz.mean(-1, keepdim=True).expand_as(yz)], dim=1)
    torch.testing.assert_close(features, torch.stack([expected_xy, expected_xz, expected_yz], 1))


def _random_aware_conv(channels: int) -> AwareConv2d:
    conv = AwareConv2d(channels, channels, zero_init=False).double()
    return conv


def _changed(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """``(3, R, R)`` bool: which texels of which plane changed (any channel, any batch row)."""
    return (roll_in(after) - roll_in(before)).abs().amax(dim=(0, 2)) > 1e-12


@pytest.mark.parametrize("source", [XY, XZ, YZ])
def test_a_texel_reaches_other_planes_only_along_the_shared_axis(source: int) -> None:
    resolution, row, col = 8, 2, 5
    conv = _random_aware_conv(3)
    x = torch.randn(1, 3, resolution, 3 * resolution, dtype=torch.float64)
    perturbed = roll_in(x).clone()
    perturbed[:, source, :, row, col] += 1.0
    changed = _changed(conv(x), conv(roll_out(perturbed)))

    near = lambda i: (torch.arange(resolution) - i).abs() <= 1  # noqa: E731 - 3×3 reach
    for target in (XY, XZ, YZ):
        if target == source:  # own plane: the 3×3 box around the texel, nothing else
            expected = near(row)[:, None] & near(col)[None, :]
        else:
            source_dim, target_dim = SHARED[(target, source)]
            shared = col if source_dim == COL else row
            if target_dim == COL:
                expected = near(shared)[None, :].expand(resolution, resolution)
            else:
                expected = near(shared)[:, None].expand(resolution, resolution)
        assert torch.equal(changed[target], expected), (source, target, changed[target].int())


def test_a_mean_preserving_change_along_the_unshared_axis_changes_nothing() -> None:
    resolution, x_col = 8, 3
    conv = _random_aware_conv(2)
    x = torch.randn(2, 2, resolution, 3 * resolution, dtype=torch.float64)
    perturbed = roll_in(x).clone()
    # Plane XZ, column x = 3: +1 at z = 1 and -1 at z = 6, so mean over z at x = 3 is unchanged.
    perturbed[:, XZ, :, 1, x_col] += 1.0
    perturbed[:, XZ, :, 6, x_col] -= 1.0
    changed = _changed(conv(x), conv(roll_out(perturbed)))
    assert not changed[XY].any()  # XY sees XZ only through means over z
    # YZ reads XZ's mean over x, which did change at z = 1 and z = 6 (rows within reach).
    assert torch.equal(changed[YZ].any(dim=1), torch.tensor([1, 1, 1, 0, 0, 1, 1, 1]).bool())


def test_aware_conv_is_zero_initialised_by_default_and_keeps_the_shape() -> None:
    conv = AwareConv2d(4, 6)
    x = torch.randn(2, 4, 8, 24)
    out = conv(x)
    assert out.shape == (2, 6, 8, 24)
    assert torch.count_nonzero(out) == 0
    assert sum(p.numel() for p in conv.parameters()) == 3 * (6 * 12 * 9 + 6)


def test_plane_conv_pads_each_plane_while_a_plain_conv_leaks() -> None:
    torch.manual_seed(1)
    x = torch.randn(1, 2, 6, 18, dtype=torch.float64)
    bumped = x.clone()
    bumped[..., 5] += 1.0  # plane XY's last column, right next to XZ's first
    plane_conv = PlaneConv2d(2, 2, 3).double()
    plain = nn.Conv2d(2, 2, 3, padding=1).double()
    plain.load_state_dict(plane_conv.state_dict())
    assert torch.equal(plane_conv(x)[..., 6:], plane_conv(bumped)[..., 6:])
    assert not torch.equal(plain(x)[..., 6:], plain(bumped)[..., 6:])  # the test can fail
    # Inside a plane the two agree: only the borders differ.
    torch.testing.assert_close(plane_conv(x)[..., 1:5], plain(x)[..., 1:5])


def test_norm_resampling_and_resize_keep_planes_apart() -> None:
    x = torch.randn(2, 4, 8, 24)
    bumped = x.clone()
    bumped[..., 7] += 3.0  # last column of XY
    ops = [PlaneGroupNorm(2, 4), PlaneDownsample(4), PlaneDownsample(4, use_conv=False),
           PlaneUpsample(4), lambda t: upsample_rolled_out(t, 16),
           lambda t: upsample_rolled_out(t, 4)]
    for op in ops:
        before, after = op(x), op(bumped)
        width = before.shape[-1] // 3
        assert torch.equal(before[..., width:], after[..., width:]), op
        assert not torch.equal(before[..., :width], after[..., :width]), op


def test_upsample_rolled_out_is_a_per_plane_bilinear_resize() -> None:
    planes = torch.randn(2, 3, 4, 8, 8)
    up = upsample_rolled_out(roll_out(planes), 16)
    expected = nn.functional.interpolate(planes.flatten(0, 1), size=(16, 16), mode="bilinear",
                                         align_corners=False).unflatten(0, (2, 3))
    torch.testing.assert_close(up, roll_out(expected))
    assert up.shape == (2, 4, 16, 48)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_folding_planes_into_the_batch_follows_the_layout_and_keeps_the_memory_format(
        memory_format: torch.memory_format) -> None:
    rolled = torch.randn(2, 4, 8, 24).contiguous(memory_format=memory_format)
    planes = planes_from_rolled(rolled)
    assert torch.equal(planes, roll_in(rolled).flatten(0, 1))  # (B·3, C, R, R), XY XZ YZ
    assert planes.is_contiguous(memory_format=memory_format)
    back = rolled_from_planes(planes)
    assert torch.equal(back, rolled) and back.is_contiguous(memory_format=memory_format)
