"""Attribute vocabulary, colour table and seeded sampling of procedural avatars."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import random
from enum import Enum

import pytest

from rodin_pipelines.avatars.attributes import (
    COLOUR_PALETTE_PREFIX,
    COLOUR_RGB,
    CONTINUOUS_RANGES,
    FLOAT_DECIMALS,
    TALL_HAIRSTYLES,
    AttributeProbabilities,
    AvatarAttributes,
    ClothingColour,
    Expression,
    FacialHair,
    FrameColour,
    Glasses,
    HairColour,
    Hairstyle,
    Hat,
    Presentation,
    SkinTone,
    attributes_fingerprint,
    colour_key_of,
    rgb_of,
    sample_attribute_sets,
    sample_attributes,
)

SAMPLE_COUNT = 1000
TOLERANCE = 0.07  # ~3.2 standard deviations of a frequency near 0.5 over 500-1000 draws


@pytest.fixture(scope="module")
def thousand() -> list[AvatarAttributes]:
    return sample_attribute_sets(0, SAMPLE_COUNT)


def frequency(avatars: list[AvatarAttributes], predicate) -> float:
    return sum(1 for avatar in avatars if predicate(avatar)) / len(avatars)


def example_attributes(**changes) -> AvatarAttributes:
    base = dict(
        presentation="man", head_shape="oval", head_width=1.0, head_height=1.0, nose_size=1.0,
        eye_spacing=1.0, ear_size=1.0, jaw_width=1.0, skin_tone="light", eye_colour="blue",
        hairstyle="short", hair_colour="red", facial_hair="beard", glasses="round",
        glasses_colour="gold", hat="cap", hat_colour="teal", clothing_colour="green",
        expression="smile",
    )  # fmt: skip
    return AvatarAttributes(**(base | changes))


def test_same_seed_gives_identical_attributes_and_different_seeds_differ() -> None:
    assert sample_attributes(7) == sample_attributes(7)
    assert sample_attributes(7) != sample_attributes(8)


def test_sampling_ignores_and_leaves_global_random_state() -> None:
    random.seed(1)
    first = sample_attributes(3)
    after_sampling = random.random()
    random.seed(2)
    second = sample_attributes(3)
    random.seed(1)
    assert first == second
    assert random.random() == after_sampling


def test_attribute_sets_use_consecutive_seeds() -> None:
    assert sample_attribute_sets(5, 3) == [sample_attributes(seed) for seed in (5, 6, 7)]


def test_at_least_90_of_100_seeds_give_distinct_attribute_sets() -> None:
    distinct = len(set(sample_attribute_sets(0, 100)))
    assert distinct >= 90, distinct


def test_every_categorical_value_appears_over_1000_seeds(thousand) -> None:
    for field in dataclasses.fields(AvatarAttributes):
        value = getattr(thousand[0], field.name)
        if isinstance(value, Enum):
            seen = {getattr(avatar, field.name) for avatar in thousand}
            assert seen == set(type(value)), field.name


def test_marginal_frequencies_match_default_probabilities(thousand) -> None:
    p = AttributeProbabilities()
    men = [a for a in thousand if a.presentation is Presentation.MAN]
    women = [a for a in thousand if a.presentation is Presentation.WOMAN]
    hat_friendly = [a for a in thousand if a.hairstyle not in TALL_HAIRSTYLES]
    assert frequency(thousand, lambda a: a.presentation is Presentation.MAN) == pytest.approx(
        p.man, abs=TOLERANCE
    )
    assert frequency(thousand, lambda a: a.glasses is not Glasses.NONE) == pytest.approx(
        p.glasses, abs=TOLERANCE
    )
    assert frequency(hat_friendly, lambda a: a.hat is not Hat.NONE) == pytest.approx(
        p.hat, abs=TOLERANCE
    )
    assert frequency(men, lambda a: a.facial_hair is not FacialHair.NONE) == pytest.approx(
        p.facial_hair_given_man, abs=TOLERANCE
    )
    assert frequency(women, lambda a: a.facial_hair is not FacialHair.NONE) == 0.0
    assert frequency(men, lambda a: a.hairstyle is Hairstyle.BALD) == pytest.approx(
        p.bald_given_man, abs=TOLERANCE
    )
    assert frequency(thousand, lambda a: a.expression is Expression.SMILE) == pytest.approx(
        p.smile, abs=TOLERANCE
    )
    tall = [a for a in thousand if a.hairstyle in TALL_HAIRSTYLES]
    assert frequency(tall, lambda a: a.hat is not Hat.NONE) < 0.15


def test_custom_probabilities_are_obeyed() -> None:
    always = AttributeProbabilities(glasses=1.0, hat=0.0, hat_given_tall_hairstyle=0.0, man=1.0,
                                    woman=0.0, facial_hair_given_man=1.0)  # fmt: skip
    avatars = sample_attribute_sets(0, 50, always)
    assert all(a.glasses is not Glasses.NONE for a in avatars)
    assert all(a.hat is Hat.NONE for a in avatars)
    assert all(a.facial_hair is not FacialHair.NONE for a in avatars)
    with pytest.raises(ValueError, match="glasses"):
        AttributeProbabilities(glasses=1.5)
    with pytest.raises(ValueError, match="exceeds 1"):
        AttributeProbabilities(man=0.7, woman=0.7)


def test_continuous_values_lie_in_their_ranges_and_are_rounded(thousand) -> None:
    for avatar in thousand[:200]:
        for name, (low, high) in CONTINUOUS_RANGES.items():
            value = getattr(avatar, name)
            assert low <= value <= high
            assert value == round(value, FLOAT_DECIMALS)
    low, high = CONTINUOUS_RANGES["head_width"]
    widths = [a.head_width for a in thousand]
    assert max(widths) - min(widths) > 0.9 * (high - low)  # the whole range is used


def test_to_dict_from_dict_round_trips_through_json(thousand) -> None:
    for avatar in thousand[:50]:
        data = json.loads(json.dumps(avatar.to_dict()))
        assert AvatarAttributes.from_dict(data) == avatar
        assert AvatarAttributes.from_dict(data).to_dict() == avatar.to_dict()
        assert all(isinstance(value, (str, float)) for value in data.values())


def test_from_dict_rejects_bad_input() -> None:
    data = example_attributes().to_dict()
    with pytest.raises(ValueError, match="missing"):
        AvatarAttributes.from_dict({k: v for k, v in data.items() if k != "hat"})
    with pytest.raises(ValueError, match="unknown"):
        AvatarAttributes.from_dict(data | {"tail": "long"})
    with pytest.raises(ValueError, match="hairstyle='afro' is not one of: bald"):
        AvatarAttributes.from_dict(data | {"hairstyle": "afro"})
    with pytest.raises(ValueError, match="nose_size"):
        AvatarAttributes.from_dict(data | {"nose_size": 3.0})


def test_colours_of_absent_accessories_are_reset_so_equal_looks_compare_equal() -> None:
    gold = example_attributes(glasses="none", glasses_colour="gold", hat="none", hat_colour="teal")
    red = example_attributes(glasses="none", glasses_colour="red", hat="none", hat_colour="blue")
    assert gold == red
    assert gold.glasses_colour is FrameColour.BLACK
    assert gold.hat_colour is ClothingColour.RED
    assert attributes_fingerprint(gold) == attributes_fingerprint(red)
    assert example_attributes(glasses_colour="red").glasses_colour is FrameColour.RED


def test_fingerprint_is_a_short_hash_of_the_canonical_json() -> None:
    avatar = example_attributes()
    canonical = json.dumps(avatar.to_dict(), sort_keys=True, separators=(",", ":"))
    assert attributes_fingerprint(avatar) == hashlib.sha256(canonical.encode()).hexdigest()[:12]
    assert attributes_fingerprint(avatar) != attributes_fingerprint(
        example_attributes(nose_size=1.001)
    )


def test_every_colour_enum_member_resolves_and_no_colour_is_orphaned() -> None:
    keys = {colour_key_of(member) for enum in COLOUR_PALETTE_PREFIX for member in enum}
    assert keys == set(COLOUR_RGB)
    for enum in COLOUR_PALETTE_PREFIX:
        for member in enum:
            rgb = rgb_of(member)
            assert len(rgb) == 3 and all(0.0 <= channel <= 1.0 for channel in rgb), member


def test_rgb_of_resolves_members_through_their_palette() -> None:
    assert rgb_of(HairColour.RED) == COLOUR_RGB["hair/red"] != rgb_of(ClothingColour.RED)
    assert rgb_of("plain/red") == rgb_of(ClothingColour.RED) == rgb_of(FrameColour.RED)
    # A bare value would be ambiguous (hair red or shirt red?), so it is no key at all.
    with pytest.raises(KeyError, match="unknown colour 'red'.*pass the enum member"):
        rgb_of(HairColour.RED.value)


def luminance(rgb: tuple[float, float, float]) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def test_skin_tones_look_like_skin_from_very_light_to_deep_brown() -> None:
    tones = [rgb_of(tone) for tone in SkinTone]
    assert all(r > g > b for r, g, b in tones)  # warm: red > green > blue, like skin
    luminances = [luminance(rgb) for rgb in tones]
    assert luminances == sorted(luminances, reverse=True)
    assert luminances[0] > 0.8 and luminances[-1] < 0.25


def test_hair_colours_look_like_hair() -> None:
    blonde, brown, black = (rgb_of(HairColour(name)) for name in ("blonde", "brown", "black"))
    assert luminance(blonde) > luminance(brown) > luminance(black)
    r, g, b = rgb_of(HairColour.RED)
    assert r > 2 * g > 2 * b and r < 0.8  # auburn-copper, not the saturated red of a shirt
    assert blonde[0] > blonde[1] > blonde[2]


def test_clothing_colours_are_far_apart() -> None:
    colours = [rgb_of(colour) for colour in ClothingColour]
    nearest = min(math.dist(a, b) for a, b in itertools.combinations(colours, 2))
    assert len(colours) >= 8 and nearest > 0.3, nearest
