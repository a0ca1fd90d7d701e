"""Glasses and hats, placed on the head's landmarks."""

from __future__ import annotations

from rodin_pipelines.avatars.attributes import AvatarAttributes, Glasses, Hat

import torch
from torch import Tensor

from rodin_pipelines.avatars import sdf
from rodin_pipelines.avatars.anatomy import HeadLandmarks, head_distance
from rodin_pipelines.avatars.hair import HAIR_THICKNESS
from rodin_pipelines.avatars.parts import Part, colour_of

FRAME_TUBE_RADIUS = 0.014
"""Thickness of glasses frames: about half a pixel at 64², enough to survive anti-aliasing."""
LENS_STANDOFF = 0.06
"""How far the lenses sit in front of the eyes."""


def glasses_parts(points: Tensor, head: HeadLandmarks, attributes: AvatarAttributes) -> list[Part]:
    """Round (rings) or square (rectangular frames) glasses with a bridge and temple arms."""
    kind = attributes.glasses
    if kind == Glasses.NONE:
        return []
    colour = colour_of(attributes.glasses_colour)
    y = head.eye_y
    z = max(head.surface_z(head.eye_x, y), head.surface_z(0.0, y) - 0.04) + LENS_STANDOFF
    lens_half = 0.075 * head.eye_x / 0.125
    rims = []
    for side in (-1.0, 1.0):
        x = side * head.eye_x
        if kind == Glasses.ROUND:
            rims.append(sdf.torus_facing_z(points, (x, y, z), lens_half, FRAME_TUBE_RADIUS))
        else:
            outer = sdf.round_box(points, (x, y, z), (lens_half + 0.01, 0.062, 0.014), 0.012)
            inner = sdf.round_box(points, (x, y, z), (lens_half - 0.016, 0.036, 0.05), 0.01)
            rims.append(sdf.subtraction(outer, inner))
    inner_edge = head.eye_x - lens_half
    bridge = sdf.capsule(points, (-inner_edge, y + 0.01, z), (inner_edge, y + 0.01, z), 0.012)
    outer_edge = head.eye_x + lens_half
    temples = [
        sdf.capsule(points, (side * outer_edge, y, z), (side * head.ear_x, y, -0.04), 0.012)
        for side in (-1.0, 1.0)
    ]
    frame = torch.stack([*rims, bridge, *temples]).amin(dim=0)
    return [Part("glasses", frame, colour)]


def hat_parts(points: Tensor, head: HeadLandmarks, attributes: AvatarAttributes) -> list[Part]:
    """A cap (dome + visor), a beanie (thick knitted dome + pompom) or a top hat."""
    kind = attributes.hat
    if kind == Hat.NONE:
        return []
    colour = colour_of(attributes.hat_colour)
    cx, cy, _ = head.centre
    rx, ry, rz = head.radii
    # A hat sits over the hair, so it is thicker than whatever hair is under it.
    hair_thickness = HAIR_THICKNESS.get(attributes.hairstyle, 0.0)
    scalp = head_distance(points, head, attributes.head_shape)
    if kind == Hat.CAP:
        dome = sdf.intersection(
            sdf.shell(scalp, hair_thickness + 0.035),
            sdf.half_space(points, (0.0, cy + 0.17, 0.0), (0.0, 1.0, -0.2)),
        )
        visor = sdf.intersection(
            sdf.ellipsoid(points, (cx, cy + 0.2, rz * 0.75), (rx * 0.75, 0.022, 0.3)),
            sdf.half_space(points, (0.0, 0.0, rz * 0.55), (0.0, 0.0, 1.0)),
        )
        return [Part("hat", torch.minimum(dome, visor), colour)]
    if kind == Hat.BEANIE:
        dome = sdf.intersection(
            sdf.shell(scalp, hair_thickness + 0.06),
            sdf.half_space(points, (0.0, cy + 0.1, 0.0), (0.0, 1.0, -0.1)),
        )
        pompom = sdf.sphere(points, (cx, head.top_y + hair_thickness + 0.07, -0.02), 0.07)
        return [Part("hat", sdf.smooth_union(dome, pompom, 0.02), colour)]
    brim_y = cy + ry * 0.7 + hair_thickness * 0.5
    crown = sdf.cylinder_y(points, (cx, brim_y + 0.17, -0.02), rx * 0.8, 0.17)
    brim = sdf.cylinder_y(points, (cx, brim_y, -0.02), rx * 1.3, 0.014)
    band_colour = (0.08, 0.08, 0.08)
    band = sdf.cylinder_y(points, (cx, brim_y + 0.045, -0.02), rx * 0.8 + 0.006, 0.03)
    return [
        Part("hat", torch.minimum(crown, brim), colour),
        Part("hat band", band, band_colour),
    ]
