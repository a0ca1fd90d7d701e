"""A scene part: one signed distance field with one base colour (albedo)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Part:
    """One coloured piece of an avatar.

    Attributes:
        name: what it is (``"skin"``, ``"hair"``...), for debugging and tests.
        distance: ``(P,)`` signed distance of the query points to this part.
        albedo: RGB base colour in [0, 1].
    """

    name: str
    distance: Tensor
    albedo: Colour


def colour_of(name: str) -> Colour:
    """The RGB of a named colour, from the one colour table in ``avatars.attributes``."""
    from rodin_pipelines.avatars.attributes import rgb_of

    return tuple(float(c) for c in rgb_of(name))  # type: ignore[return-value]


def darker(colour: Colour, factor: float) -> Colour:
    """``colour`` scaled towards black by ``factor`` in [0, 1]."""
    return (colour[0] * factor, colour[1] * factor, colour[2] * factor)
