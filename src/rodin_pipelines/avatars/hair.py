"""Hairstyles and facial hair as layers over the head's signed distance field.

Most styles are a *shell* of the head (the head grown by a thickness) cut by a hairline plane
that rises towards the forehead, so the face stays bare; styles then add volumes (a bun, a tail,
a curtain of long hair, curls).
"""

from __future__ import annotations

from rodin_pipelines.avatars.attributes import AvatarAttributes, FacialHair, Hairstyle

import torch
from torch import Tensor

from rodin_pipelines.avatars import sdf
from rodin_pipelines.avatars.anatomy import HeadLandmarks, head_distance
from rodin_pipelines.avatars.parts import Part, colour_of

HAIR_THICKNESS = {
    Hairstyle.BUZZ: 0.018, Hairstyle.SHORT: 0.05, Hairstyle.LONG: 0.06, Hairstyle.BUN: 0.045,
    Hairstyle.CURLY: 0.1, Hairstyle.MOHAWK: 0.02, Hairstyle.PONYTAIL: 0.045,
}
"""How far each style stands off the scalp (world units)."""

HAIRLINE_DROP = {Hairstyle.LONG: 0.12, Hairstyle.CURLY: 0.06}
"""How much lower than usual the hairline of a style comes down the sides."""

CURL_FREQUENCY = 22.0
"""Spatial frequency of curly hair's bumps (radians per world unit)."""
CURL_AMPLITUDE = 0.028


def hairline_distance(points: Tensor, head: HeadLandmarks, drop: float = 0.0) -> Tensor:
    """Region above the hairline: high on the forehead, down to the neck at the back.

    ``drop`` lowers the hairline (long hair covers more of the sides).
    """
    cy = head.centre[1]
    front = sdf.half_space(points, (0.0, cy + 0.2 - drop, head.radii[2]), (0.0, 1.0, -0.75))
    # Above the ears at the sides, unless the style drops lower.
    sides = sdf.half_space(points, (0.0, cy + 0.02 - drop, 0.0), (0.0, 1.0, -0.35))
    return torch.maximum(front, sides)


def hair_parts(points: Tensor, head: HeadLandmarks, attributes: AvatarAttributes) -> list[Part]:
    """The scalp hair for ``attributes['hairstyle']`` (none when bald)."""
    style = attributes.hairstyle
    if style == Hairstyle.BALD:
        return []
    colour = colour_of(attributes.hair_colour)
    scalp = head_distance(points, head, attributes.head_shape)
    cx, cy, _ = head.centre
    rx, ry, rz = head.radii
    if style == Hairstyle.MOHAWK:
        ridge = sdf.intersection(
            sdf.shell(scalp, 0.16),
            (points[:, 0].abs() - 0.045),
            hairline_distance(points, head, drop=-0.05),
        )
        stubble = sdf.intersection(sdf.shell(scalp, HAIR_THICKNESS[style]),
                                   hairline_distance(points, head))
        return [Part("hair", torch.minimum(ridge, stubble), colour)]
    thickness = HAIR_THICKNESS[style]
    layer = sdf.shell(scalp, thickness)
    if style == Hairstyle.CURLY:
        bumps = (torch.sin(CURL_FREQUENCY * points[:, 0]) * torch.sin(CURL_FREQUENCY * points[:, 1])
                 * torch.sin(CURL_FREQUENCY * points[:, 2]))
        layer = layer - CURL_AMPLITUDE * bumps
    drop = HAIRLINE_DROP.get(style, 0.0)
    hair = sdf.intersection(layer, hairline_distance(points, head, drop))
    if style == Hairstyle.LONG:
        curtain = sdf.round_box(points, (cx, cy - 0.32, -0.16), (rx + 0.06, 0.5, 0.26), 0.12)
        # Keep the curtain behind the face and outside the neck.
        curtain = sdf.intersection(curtain, sdf.half_space(points, (0, 0, 0.05), (0, 0, -1)))
        hair = sdf.smooth_union(hair, curtain, 0.06)
    elif style == Hairstyle.BUN:
        bun = sdf.sphere(points, (cx, head.top_y - 0.02, -0.24), 0.15)
        hair = sdf.smooth_union(hair, bun, 0.03)
    elif style == Hairstyle.PONYTAIL:
        tail = sdf.capsule(points, (cx, cy + 0.1, -rz - 0.02), (cx, cy - 0.45, -rz - 0.12), 0.075)
        hair = sdf.smooth_union(hair, tail, 0.04)
    elif style == Hairstyle.SHORT:
        fringe = sdf.ellipsoid(points, (cx + 0.06, cy + 0.3, rz * 0.62), (0.2, 0.08, 0.1))
        hair = sdf.smooth_union(hair, fringe, 0.04)
    return [Part("hair", hair, colour)]


def facial_hair_parts(
    points: Tensor, head: HeadLandmarks, attributes: AvatarAttributes
) -> list[Part]:
    """A moustache over the lip, or a beard over chin and jaw (which includes a moustache)."""
    kind = attributes.facial_hair
    if kind == FacialHair.NONE:
        return []
    colour = colour_of(attributes.hair_colour)
    moustache_y = head.mouth_y + 0.045
    moustache_z = head.surface_z(0.0, moustache_y) * 0.96 + 0.01
    moustache = torch.minimum(
        sdf.capsule(points, (-0.1, moustache_y - 0.02, moustache_z - 0.02),
                    (0.0, moustache_y, moustache_z), 0.026),
        sdf.capsule(points, (0.0, moustache_y, moustache_z),
                    (0.1, moustache_y - 0.02, moustache_z - 0.02), 0.026),
    )
    if kind == FacialHair.MOUSTACHE:
        return [Part("moustache", moustache, colour)]
    scalp = head_distance(points, head, attributes.head_shape)
    # Below the lower lip in front, rising along the jaw to sideburns at the ears.
    chin = sdf.half_space(points, (0.0, head.mouth_y - 0.035, 0.0), (0.0, -1.0, 0.0))
    sides = sdf.intersection(
        sdf.half_space(points, (0.0, head.eye_y - 0.06, 0.0), (0.0, -1.0, 0.0)),
        0.2 - points[:, 0].abs(),
    )
    jaw = sdf.intersection(
        sdf.shell(scalp, 0.045),
        torch.minimum(chin, sides),
        sdf.half_space(points, (0.0, 0.0, -0.12), (0.0, 0.0, 1.0)),
    )
    return [Part("beard", sdf.smooth_union(jaw, moustache, 0.02), colour)]
