"""The attribute vocabulary of our procedural avatars, their colours, and seeded sampling.

An :class:`AvatarAttributes` is everything that decides how a synthetic avatar looks: the
renderer builds the 3D scene from it and the captions describe it, so both read the names here.
Categorical fields are ``StrEnum`` members (their values are what ``attributes.json`` stores);
continuous fields are scale factors where 1.0 is the renderer's nominal size.

Colours live in one table, :data:`COLOUR_RGB`, keyed ``"<palette>/<name>"``: skin, eye and hair
colours have their own palettes (``"hair/red"`` is auburn, not the saturated ``"plain/red"`` of
a shirt); glasses frames, hats and clothing share the ``plain`` palette. Pass enum members to
:func:`rgb_of` (``rgb_of(attributes.hair_colour)``); a bare value such as ``"red"`` is no key, so
it fails loudly instead of picking the wrong palette.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from enum import Enum, StrEnum
from functools import cache
from typing import Any, get_type_hints

from rodin_pipelines.fingerprints import json_fingerprint

RGB = tuple[float, float, float]


class Presentation(StrEnum):
    MAN = "man"
    WOMAN = "woman"
    PERSON = "person"


class HeadShape(StrEnum):
    OVAL = "oval"
    ROUND = "round"
    LONG = "long"
    SQUARE = "square"
    HEART = "heart"


class SkinTone(StrEnum):
    VERY_LIGHT = "very_light"
    LIGHT = "light"
    MEDIUM = "medium"
    OLIVE = "olive"
    TAN = "tan"
    BROWN = "brown"
    DEEP_BROWN = "deep_brown"


class EyeColour(StrEnum):
    BROWN = "brown"
    BLUE = "blue"
    GREEN = "green"
    GREY = "grey"
    HAZEL = "hazel"


class Hairstyle(StrEnum):
    BALD = "bald"
    BUZZ = "buzz"
    SHORT = "short"
    LONG = "long"
    BUN = "bun"
    CURLY = "curly"
    MOHAWK = "mohawk"
    PONYTAIL = "ponytail"


class HairColour(StrEnum):
    """Also the colour of eyebrows and facial hair, so it matters even when bald."""

    BLACK = "black"
    BROWN = "brown"
    BLONDE = "blonde"
    RED = "red"
    GREY = "grey"
    WHITE = "white"
    BLUE = "blue"
    PINK = "pink"


class FacialHair(StrEnum):
    NONE = "none"
    MOUSTACHE = "moustache"
    BEARD = "beard"


class Glasses(StrEnum):
    NONE = "none"
    ROUND = "round"
    SQUARE = "square"


class FrameColour(StrEnum):
    """Colour of glasses frames."""

    BLACK = "black"
    GOLD = "gold"
    SILVER = "silver"
    RED = "red"
    BLUE = "blue"
    TORTOISESHELL = "tortoiseshell"


class Hat(StrEnum):
    NONE = "none"
    CAP = "cap"
    BEANIE = "beanie"
    TOP_HAT = "top_hat"


class ClothingColour(StrEnum):
    """Colour of the shirt, and of the hat (both are fabric)."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"
    TEAL = "teal"
    BLUE = "blue"
    PURPLE = "purple"
    PINK = "pink"
    WHITE = "white"
    BLACK = "black"
    GREY = "grey"


class Expression(StrEnum):
    NEUTRAL = "neutral"
    SMILE = "smile"


NATURAL_HAIR_COLOURS = (
    HairColour.BLACK, HairColour.BROWN, HairColour.BLONDE,
    HairColour.RED, HairColour.GREY, HairColour.WHITE,
)  # fmt: skip
DYED_HAIR_COLOURS = (HairColour.BLUE, HairColour.PINK)
TALL_HAIRSTYLES = (Hairstyle.MOHAWK, Hairstyle.BUN)
"""Hairstyles a hat would crush or hide, so hats are rare on them."""

COLOUR_PALETTE_PREFIX: dict[type[StrEnum], str] = {
    SkinTone: "skin/",
    EyeColour: "eye/",
    HairColour: "hair/",
    FrameColour: "plain/",
    ClothingColour: "plain/",
}
"""Where each colour enum's members live in :data:`COLOUR_RGB`."""

# sRGB display values in [0, 1], as the built-in renderer writes them to PNG; a physically based
# backend (Blender) should convert them to linear before use.
COLOUR_RGB: dict[str, RGB] = {
    # Skin, very light to deep brown (close to the Monk skin-tone scale).
    "skin/very_light": (0.96, 0.87, 0.80),
    "skin/light": (0.92, 0.76, 0.65),
    "skin/medium": (0.82, 0.63, 0.49),
    "skin/olive": (0.74, 0.59, 0.42),
    "skin/tan": (0.66, 0.47, 0.32),
    "skin/brown": (0.48, 0.32, 0.21),
    "skin/deep_brown": (0.29, 0.19, 0.13),
    # Irises.
    "eye/brown": (0.36, 0.21, 0.10),
    "eye/blue": (0.30, 0.50, 0.76),
    "eye/green": (0.30, 0.55, 0.34),
    "eye/grey": (0.56, 0.59, 0.62),
    "eye/hazel": (0.56, 0.44, 0.22),
    # Hair: natural shades, then two dyes.
    "hair/black": (0.06, 0.05, 0.05),
    "hair/brown": (0.33, 0.20, 0.11),
    "hair/blonde": (0.88, 0.74, 0.47),
    "hair/red": (0.62, 0.24, 0.10),
    "hair/grey": (0.62, 0.62, 0.62),
    "hair/white": (0.93, 0.93, 0.90),
    "hair/blue": (0.15, 0.35, 0.85),
    "hair/pink": (0.95, 0.45, 0.70),
    # Plain palette (glasses frames, hats, clothing): saturated, to tell apart at 64x64.
    "plain/red": (0.85, 0.10, 0.10),
    "plain/orange": (0.95, 0.50, 0.08),
    "plain/yellow": (0.95, 0.85, 0.10),
    "plain/green": (0.10, 0.65, 0.20),
    "plain/teal": (0.00, 0.55, 0.55),
    "plain/blue": (0.10, 0.25, 0.85),
    "plain/purple": (0.50, 0.15, 0.70),
    "plain/pink": (0.95, 0.45, 0.65),
    "plain/white": (0.95, 0.95, 0.95),
    "plain/black": (0.08, 0.08, 0.08),
    "plain/grey": (0.50, 0.50, 0.50),
    "plain/gold": (0.83, 0.69, 0.22),
    "plain/silver": (0.75, 0.75, 0.78),
    "plain/tortoiseshell": (0.45, 0.27, 0.10),
}


def colour_key_of(colour: StrEnum) -> str:
    """The :data:`COLOUR_RGB` key of a colour enum member: ``HairColour.RED`` → ``"hair/red"``."""
    return COLOUR_PALETTE_PREFIX[type(colour)] + colour.value


def rgb_of(name: str | StrEnum) -> RGB:
    """The sRGB colour of a :data:`COLOUR_RGB` key or of a colour enum member.

    Enum members are resolved through their palette (``HairColour.RED`` is auburn hair,
    ``ClothingColour.RED`` a saturated red). Raises KeyError naming the known keys otherwise.
    """
    key = colour_key_of(name) if isinstance(name, Enum) else name
    if key not in COLOUR_RGB:
        raise KeyError(
            f"unknown colour {key!r}: pass the enum member (rgb_of(attributes.hair_colour)) "
            f"or one of {', '.join(sorted(COLOUR_RGB))}"
        )
    return COLOUR_RGB[key]


CONTINUOUS_RANGES: dict[str, tuple[float, float]] = {
    "head_width": (0.9, 1.1),  # head scale along x
    "head_height": (0.9, 1.1),  # head scale along y
    "nose_size": (0.8, 1.2),
    "eye_spacing": (0.9, 1.1),  # distance between the eyes
    "ear_size": (0.8, 1.2),
    "jaw_width": (0.85, 1.15),  # relative to the head width
}
"""Inclusive (low, high) of each continuous field; 1.0 is the renderer's nominal size."""
FLOAT_DECIMALS = 3
"""Continuous values are rounded so ``attributes.json`` reads cleanly and hashes stably."""
FINGERPRINT_LENGTH = 12


@dataclass(frozen=True)
class AvatarAttributes:
    """One avatar's look. Plain strings are accepted for enum fields and converted.

    ``glasses_colour`` / ``hat_colour`` mean nothing without glasses / a hat; they are then reset
    to the enum's first member so that two avatars that look the same compare equal.
    """

    presentation: Presentation
    head_shape: HeadShape
    head_width: float
    head_height: float
    nose_size: float
    eye_spacing: float
    ear_size: float
    jaw_width: float
    skin_tone: SkinTone
    eye_colour: EyeColour
    hairstyle: Hairstyle
    hair_colour: HairColour
    facial_hair: FacialHair
    glasses: Glasses
    glasses_colour: FrameColour
    hat: Hat
    hat_colour: ClothingColour
    clothing_colour: ClothingColour
    expression: Expression

    def __post_init__(self) -> None:
        for name, enum_type in _enum_fields().items():
            object.__setattr__(self, name, _to_enum(enum_type, getattr(self, name), name))
        for name, (low, high) in CONTINUOUS_RANGES.items():
            value = float(getattr(self, name))
            if not low <= value <= high:
                raise ValueError(f"{name}={value} is outside its range [{low}, {high}]")
            object.__setattr__(self, name, value)
        if self.glasses is Glasses.NONE:
            object.__setattr__(self, "glasses_colour", next(iter(FrameColour)))
        if self.hat is Hat.NONE:
            object.__setattr__(self, "hat_colour", next(iter(ClothingColour)))

    def to_dict(self) -> dict[str, str | float]:
        """JSON-safe: enum values as strings, continuous values as floats."""
        return {name: value.value if isinstance(value, Enum) else value
                for name, value in asdict(self).items()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AvatarAttributes:
        """Inverse of :meth:`to_dict`; every field must be present and no other key."""
        expected = {field.name for field in fields(cls)}
        missing, unknown = expected - data.keys(), data.keys() - expected
        if missing or unknown:
            raise ValueError(
                f"attributes do not match AvatarAttributes: missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        return cls(**data)


def categorical_attribute_types() -> dict[str, type[StrEnum]]:
    """The enum type of each categorical attribute, by field name."""
    return dict(_enum_fields())


@cache
def _enum_fields() -> dict[str, type[StrEnum]]:
    hints = get_type_hints(AvatarAttributes)
    return {name: hint for name, hint in hints.items()
            if isinstance(hint, type) and issubclass(hint, Enum)}  # fmt: skip


def _to_enum(enum_type: type[StrEnum], value: Any, name: str) -> StrEnum:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValueError(f"{name}={value!r} is not one of: {allowed}") from None


def attributes_fingerprint(attributes: AvatarAttributes) -> str:
    """A short stable hash of the canonical JSON (sorted keys), to name and cache avatars."""
    return json_fingerprint(attributes.to_dict(), FINGERPRINT_LENGTH, separators=(",", ":"))


@dataclass(frozen=True)
class AttributeProbabilities:
    """How often each optional feature appears; everything not listed is uniform.

    Hairstyles other than bald are uniform, hair colours are uniform within the natural and within
    the dyed shades, and glasses / hat colours are uniform when the item is present.
    """

    man: float = 0.45
    woman: float = 0.45  # "person" takes the remaining 0.10
    bald_given_man: float = 0.15
    bald_otherwise: float = 0.03
    facial_hair_given_man: float = 0.5
    facial_hair_given_woman: float = 0.0
    facial_hair_given_person: float = 0.1
    beard_given_facial_hair: float = 0.5  # otherwise a moustache
    glasses: float = 0.4
    hat: float = 0.3
    hat_given_tall_hairstyle: float = 0.05  # mohawk and bun: a hat would crush or hide them
    dyed_hair: float = 0.1  # blue or pink instead of a natural shade
    smile: float = 0.5

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"probability {field.name}={value} is outside [0, 1]")
        if self.man + self.woman > 1.0:
            raise ValueError(f"man + woman = {self.man + self.woman} exceeds 1")


def sample_attributes(
    seed: int, probabilities: AttributeProbabilities | None = None
) -> AvatarAttributes:
    """One avatar's attributes, a pure function of ``seed`` (global random state is untouched).

    ``probabilities`` None means the defaults of :class:`AttributeProbabilities`.
    """
    p = probabilities or AttributeProbabilities()
    rng = random.Random(seed)
    draw = rng.random()
    presentation = (Presentation.MAN if draw < p.man
                    else Presentation.WOMAN if draw < p.man + p.woman
                    else Presentation.PERSON)  # fmt: skip
    is_man = presentation is Presentation.MAN
    bald = rng.random() < (p.bald_given_man if is_man else p.bald_otherwise)
    hairstyles_with_hair = [h for h in Hairstyle if h is not Hairstyle.BALD]
    hairstyle = Hairstyle.BALD if bald else rng.choice(hairstyles_with_hair)
    dyed = rng.random() < p.dyed_hair
    hair_colour = rng.choice(DYED_HAIR_COLOURS if dyed else NATURAL_HAIR_COLOURS)
    facial_hair_probability = {
        Presentation.MAN: p.facial_hair_given_man,
        Presentation.WOMAN: p.facial_hair_given_woman,
        Presentation.PERSON: p.facial_hair_given_person,
    }[presentation]
    facial_hair = FacialHair.NONE
    if rng.random() < facial_hair_probability:
        beard = rng.random() < p.beard_given_facial_hair
        facial_hair = FacialHair.BEARD if beard else FacialHair.MOUSTACHE
    glasses = _present_or_none(rng, p.glasses, Glasses)
    hat_probability = p.hat_given_tall_hairstyle if hairstyle in TALL_HAIRSTYLES else p.hat
    hat = _present_or_none(rng, hat_probability, Hat)
    continuous = {name: round(rng.uniform(low, high), FLOAT_DECIMALS)
                  for name, (low, high) in CONTINUOUS_RANGES.items()}  # fmt: skip
    return AvatarAttributes(
        presentation=presentation,
        head_shape=rng.choice(list(HeadShape)),
        skin_tone=rng.choice(list(SkinTone)),
        eye_colour=rng.choice(list(EyeColour)),
        hairstyle=hairstyle,
        hair_colour=hair_colour,
        facial_hair=facial_hair,
        glasses=glasses,
        glasses_colour=rng.choice(list(FrameColour)),  # reset by AvatarAttributes if no glasses
        hat=hat,
        hat_colour=rng.choice(list(ClothingColour)),  # likewise without a hat
        clothing_colour=rng.choice(list(ClothingColour)),
        expression=Expression.SMILE if rng.random() < p.smile else Expression.NEUTRAL,
        **continuous,
    )


def _present_or_none(rng: random.Random, probability: float, kind: type[StrEnum]) -> StrEnum:
    """With ``probability`` a uniform member of ``kind`` other than its ``NONE``, else ``NONE``."""
    absent = kind("none")
    if rng.random() >= probability:
        return absent
    return rng.choice([member for member in kind if member is not absent])


def sample_attribute_sets(
    first_seed: int, count: int, probabilities: AttributeProbabilities | None = None
) -> list[AvatarAttributes]:
    """``count`` avatars from seeds ``first_seed, first_seed + 1, ...`` (so sets extend stably)."""
    return [sample_attributes(first_seed + offset, probabilities) for offset in range(count)]
