"""The head, face and bust of a procedural avatar as signed distance parts.

Landmarks (head centre and radii, eye level, mouth level...) are computed once from the
attributes in :class:`HeadLandmarks` so hair, glasses and hats sit on the same head. World units:
the whole bust fits the cube [-1, 1]^3, +y up, the face towards +z (architecture §3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from rodin_pipelines.avatars.attributes import AvatarAttributes, Expression, HeadShape

import torch
from torch import Tensor

from rodin_pipelines.avatars import sdf
from rodin_pipelines.avatars.parts import Part, colour_of, darker

HEAD_CENTRE_Y = 0.12
"""Height of the head's centre: leaves room above for a top hat and below for the shoulders."""

BASE_HEAD_RADII = {
    # (half width, half height, half depth) and jaw taper (how much narrower the chin is).
    "oval": ((0.35, 0.45, 0.40), 0.22),
    "round": ((0.39, 0.42, 0.41), 0.10),
    "long": ((0.32, 0.49, 0.39), 0.18),
    "square": ((0.37, 0.44, 0.40), 0.02),
    "heart": ((0.38, 0.44, 0.40), 0.38),
}
"""Head proportions per ``head_shape``."""

SKIN_SMOOTHNESS = 0.04
"""Blend radius where skin parts meet (neck into head, nose into face)."""


@dataclass(frozen=True)
class HeadLandmarks:
    """Where things are on one avatar's head (world units)."""

    centre: tuple[float, float, float]
    radii: tuple[float, float, float]
    jaw_taper: float
    eye_y: float
    eye_x: float
    eye_z: float
    nose_y: float
    mouth_y: float
    mouth_z: float
    ear_x: float

    @property
    def top_y(self) -> float:
        return self.centre[1] + self.radii[1]

    def surface_z(self, x: float, y: float) -> float:
        """Depth of the (untapered) head ellipsoid's front surface at ``(x, y)``."""
        rx, ry, rz = self.radii
        inside = 1.0 - (x / rx) ** 2 - ((y - self.centre[1]) / ry) ** 2
        return rz * math.sqrt(max(inside, 0.0))


def landmarks_from_attributes(attributes: AvatarAttributes) -> HeadLandmarks:
    """Head landmarks for an attribute dict (``AvatarAttributes.to_dict()``)."""
    (rx, ry, rz), taper = BASE_HEAD_RADII[attributes.head_shape]
    rx *= attributes.head_width
    ry *= attributes.head_height
    taper = taper + 0.5 * (1.0 - attributes.jaw_width)
    centre = (0.0, HEAD_CENTRE_Y, 0.0)
    eye_y = centre[1] + 0.05 * ry / 0.45
    eye_x = 0.125 * attributes.eye_spacing * rx / 0.35
    mouth_y = centre[1] - 0.26 * ry / 0.45
    partial = HeadLandmarks(centre, (rx, ry, rz), taper, eye_y, eye_x, 0.0, 0.0, mouth_y, 0.0, 0.0)
    eye_z = partial.surface_z(eye_x, eye_y)
    mouth_z = partial.surface_z(0.0, mouth_y) * (1.0 - 0.5 * taper * 0.58)
    return HeadLandmarks(
        centre, (rx, ry, rz), taper, eye_y, eye_x, eye_z,
        nose_y=eye_y - 0.11 * ry / 0.45, mouth_y=mouth_y, mouth_z=mouth_z, ear_x=rx * 0.97,
    )


def head_distance(points: Tensor, head: HeadLandmarks, shape: HeadShape) -> Tensor:
    """Distance ``(P,)`` to the skull and face volume (tapered towards the chin)."""
    cy, ry = head.centre[1], head.radii[1]
    below = ((cy - points[:, 1]) / ry).clamp(0.0, 1.0)
    # Narrow x towards the chin: dividing x by a factor < 1 widens distances there (a bound).
    warped = points.clone()
    warped[:, 0] = points[:, 0] / (1.0 - head.jaw_taper * below * below)
    distance = sdf.ellipsoid(warped, head.centre, head.radii)
    if shape == HeadShape.SQUARE:
        jaw = sdf.round_box(points, (0.0, cy - 0.12, 0.02), (head.radii[0] * 0.86, 0.25, 0.33), 0.1)
        distance = sdf.smooth_union(distance, jaw, 0.05)
    return distance


def bust_parts(points: Tensor, head: HeadLandmarks, attributes: AvatarAttributes) -> list[Part]:
    """Head, ears, nose, neck and clothed shoulders."""
    skin = colour_of(attributes.skin_tone)
    cloth = colour_of(attributes.clothing_colour)
    cx, cy, _ = head.centre
    rx = head.radii[0]
    ear = attributes.ear_size
    nose = attributes.nose_size
    head_d = head_distance(points, head, attributes.head_shape)
    ears = torch.minimum(
        sdf.ellipsoid(points, (-head.ear_x, cy - 0.03, -0.03), (0.05, 0.1 * ear, 0.07 * ear)),
        sdf.ellipsoid(points, (head.ear_x, cy - 0.03, -0.03), (0.05, 0.1 * ear, 0.07 * ear)),
    )
    nose_d = sdf.ellipsoid(
        points,
        (cx, head.nose_y, head.surface_z(0.0, head.nose_y) + 0.01),
        (0.05 * nose, 0.085 * nose, 0.07 * nose),
    )
    neck = sdf.capsule(points, (0.0, -0.55, -0.03), (0.0, cy - 0.2, -0.03), 0.16 * rx / 0.35)
    skin_d = sdf.smooth_union(sdf.smooth_union(head_d, neck, SKIN_SMOOTHNESS), ears, 0.02)
    skin_d = sdf.smooth_union(skin_d, nose_d, 0.03)
    torso = sdf.ellipsoid(points, (0.0, -1.02, -0.04), (0.78, 0.42, 0.38))
    collar = sdf.torus_facing_z(
        points[:, [0, 2, 1]], (0.0, -0.03, -0.6), 0.17 * rx / 0.35, 0.045
    )  # a ring around the neck: swap y and z so the torus lies horizontally
    clothes = sdf.smooth_union(torso, collar, 0.05)
    return [Part("skin", skin_d, skin), Part("clothes", clothes, cloth)]


def face_parts(points: Tensor, head: HeadLandmarks, attributes: AvatarAttributes) -> list[Part]:
    """Eyes (sclera, iris, pupil), eyebrows and mouth (a smile curves up at the corners)."""
    iris_colour = colour_of(attributes.eye_colour)
    hair_colour = colour_of(attributes.hair_colour)
    parts: list[Part] = []
    sclera, iris, pupil, brows = [], [], [], []
    for side in (-1.0, 1.0):
        x = side * head.eye_x
        z = head.surface_z(x, head.eye_y)
        sclera.append(sdf.sphere(points, (x, head.eye_y, z - 0.025), 0.055))
        iris.append(sdf.sphere(points, (x, head.eye_y, z + 0.012), 0.03))
        pupil.append(sdf.sphere(points, (x, head.eye_y, z + 0.025), 0.016))
        brow_y = head.eye_y + 0.085
        inner, outer = x - side * 0.05, x + side * 0.06
        brows.append(sdf.capsule(
            points,
            (inner, brow_y, head.surface_z(inner, brow_y) + 0.005),
            (outer, brow_y + 0.01, head.surface_z(outer, brow_y) + 0.005),
            0.018,
        ))
    parts.append(Part("sclera", torch.minimum(*sclera), (0.95, 0.95, 0.93)))
    parts.append(Part("iris", torch.minimum(*iris), iris_colour))
    parts.append(Part("pupil", torch.minimum(*pupil), (0.03, 0.03, 0.03)))
    parts.append(Part("eyebrows", torch.minimum(*brows), darker(hair_colour, 0.8)))
    parts.append(Part("mouth", mouth_distance(points, head, attributes.expression),
                      (0.62, 0.22, 0.24)))
    return parts


def mouth_distance(points: Tensor, head: HeadLandmarks, expression: Expression) -> Tensor:
    """Lips as a chain of capsules: straight when neutral, a wide upward arc when smiling."""
    smiling = expression == Expression.SMILE
    half_width = 0.11 if smiling else 0.075
    lift = 0.05 if smiling else 0.0
    xs = torch.linspace(-half_width, half_width, 7).tolist()
    nodes = [
        (x, head.mouth_y + lift * (x / half_width) ** 2, head.mouth_z + 0.012 - 0.4 * x * x)
        for x in xs
    ]
    radius = 0.024 if smiling else 0.018
    segments = [sdf.capsule(points, a, b, radius) for a, b in zip(nodes[:-1], nodes[1:])]
    return torch.stack(segments).amin(dim=0)
