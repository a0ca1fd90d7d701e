"""Holding the field below a height while a refinement changes the rest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colour_decoder import colour_decoder  # noqa: E402
from fake_clip import table_clip  # noqa: E402
from rodin_pipelines.generation.plane_refinement import (  # noqa: E402
    RefinementSettings,
    region_mask,
)
from rodin_pipelines.generation.region_hold import (  # noqa: E402
    field_change, held_points, points_below, points_in_boxes,
)
from rodin_pipelines.generation.text_guided_refinement import refine_towards_text  # noqa: E402
from rodin_pipelines.rendering.camera_rig import CameraRig  # noqa: E402
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings  # noqa: E402
from rodin_pipelines.triplane.field import TriplaneField  # noqa: E402


def test_points_below_fill_the_box_under_the_height_only() -> None:
    points = points_below(4000, -0.5, torch.Generator().manual_seed(0))
    assert points.shape == (4000, 3)
    assert float(points[:, 1].max()) <= -0.5 and float(points[:, 1].min()) >= -1.0
    assert float(points[:, [0, 2]].abs().max()) <= 1.0
    assert float(points[:, 0].min()) < -0.9 and float(points[:, 0].max()) > 0.9  # whole width
    with pytest.raises(ValueError, match="nothing of the scene"):
        points_below(10, -1.0, torch.Generator())


def test_the_field_change_sees_changes_below_the_height_and_not_above() -> None:
    decoder = colour_decoder()
    planes = torch.randn(3, 3, 16, 16)
    points = points_below(2000, -0.2, torch.Generator().manual_seed(1))
    assert float(field_change(planes, planes, decoder, points).detach()) == 0.0
    # Texel centres above 0 on the two planes that span y: no point below -0.2 reads them
    # (bilinear reads reach half a texel, 1/16, across).
    above = planes + 3.0 * region_mask(16, 0.0)
    assert float(field_change(above, planes, decoder, points)) < 1e-12
    everywhere = planes + 3.0
    assert float(field_change(everywhere, planes, decoder, points)) > 0.01


def test_the_colour_change_counts_where_the_unedited_field_is_occupied() -> None:
    decoder = colour_decoder()  # dense everywhere: the colour term is the full mean
    planes = torch.zeros(3, 3, 4, 4)
    shifted = planes.clone()
    shifted[:, 0] = 1.0  # the planes' mean red feature 1: red sigmoid(1) instead of 0.5
    # Inside the outermost texel centres (±0.75 at R = 4), clear of the zero padding.
    points = 0.7 * points_below(500, 1.0, torch.Generator().manual_seed(2))
    expected = (torch.sigmoid(torch.tensor(1.0)) - 0.5) ** 2
    assert float(field_change(shifted, planes, decoder, points)) == pytest.approx(
        float(expected), rel=1e-4)


def redness_below_and_above(hold: dict) -> dict[str, tuple[float, float]]:
    """A "green" → "red" refinement of a flat field, free and with ``hold`` settings: how much
    redder than green the result is below y = -0.3 and above y = 0.3, for each."""
    clip = table_clip({"red": [1.0, 0.0, 0.0], "green": [0.0, 1.0, 0.0]})
    decoder = colour_decoder()
    planes = torch.zeros(1, 3, 3, 8, 8)
    render = VolumeRenderSettings(coarse_samples=8, fine_samples=0)
    free = RefinementSettings(steps=10, learning_rate=0.2, offset_resolution=4,
                              views_per_step=1, image_size=8)
    held = RefinementSettings(**{**free.__dict__, "hold_weight": 100.0, "hold_points": 1024,
                                 **hold})
    generator = torch.Generator().manual_seed(3)
    low = points_below(1000, -0.3, generator)
    high = -points_below(1000, -0.3, generator)  # mirrored: y above 0.3

    def redness(plane: torch.Tensor, points: torch.Tensor) -> float:
        with torch.no_grad():
            colour = TriplaneField(plane, decoder)(points)[1]
        return float((colour[:, 0] - colour[:, 1]).mean())

    results = {}
    for name, settings in (("free", free), ("held", held)):
        plane = refine_towards_text(planes, decoder, clip, CameraRig(), render, "green", "red",
                                    torch.ones(3), settings)[0]
        results[name] = (redness(plane, low), redness(plane, high))
    return results


@pytest.mark.parametrize("hold", [
    {"hold_below_height": 0.0},
    {"hold_boxes": ((-1.0, -1.0, -1.0, 1.0, 0.0, 1.0),)},  # the same region as a box
])
def test_a_held_region_keeps_its_colours_and_the_rest_still_changes(hold: dict) -> None:
    redness = redness_below_and_above(hold)
    (free_low, free_high), (held_low, held_high) = redness["free"], redness["held"]
    assert free_low > 0.05  # unheld, the edit reaches everywhere
    assert held_low < 0.3 * free_low
    assert held_high > 0.5 * free_high


def test_points_in_boxes_fill_each_box_by_its_volume_and_nothing_else() -> None:
    boxes = [(-0.3, -0.4, 0.0, 0.3, 0.2, 0.6), (0.5, 0.5, 0.5, 0.6, 0.6, 0.6)]  # 0.216, 0.001
    points = points_in_boxes(20_000, boxes, torch.Generator().manual_seed(0))
    first = ((points >= torch.tensor(boxes[0][:3])) & (points <= torch.tensor(boxes[0][3:])))
    second = ((points >= torch.tensor(boxes[1][:3])) & (points <= torch.tensor(boxes[1][3:])))
    inside_first, inside_second = first.all(1), second.all(1)
    assert bool((inside_first | inside_second).all())
    assert float(inside_second.float().mean()) == pytest.approx(0.001 / 0.217, abs=0.002)
    assert float(points[inside_first, 1].min()) < -0.39
    assert float(points[inside_first, 1].max()) > 0.19
    with pytest.raises(ValueError, match="x0 < x1"):
        points_in_boxes(10, [(0.0, 0.0, 0.0, -0.1, 0.1, 0.1)], torch.Generator())


def test_held_points_join_the_region_below_and_the_boxes() -> None:
    generator = torch.Generator().manual_seed(1)
    assert held_points(100, None, (), generator) is None
    both = held_points(100, -0.5, [(0.0, 0.0, 0.0, 0.1, 0.1, 0.1)], generator)
    assert both.shape == (200, 3)
    assert float(both[:100, 1].max()) <= -0.5 and float(both[100:].min()) >= 0.0
    # Below a height alone: the same draws as before boxes existed.
    alone = held_points(50, -0.5, (), torch.Generator().manual_seed(2))
    assert torch.equal(alone, points_below(50, -0.5, torch.Generator().manual_seed(2)))
