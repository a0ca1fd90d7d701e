"""Counterfactual captions change exactly one visible attribute."""

import random
import re

from rodin_pipelines.avatars.attributes import AvatarAttributes, sample_attributes
from rodin_pipelines.avatars.captions import caption_from_attributes
from rodin_pipelines.training.hard_negatives import SWAPPABLE, counterfactual_caption


def test_a_counterfactual_differs_from_the_caption_in_one_swappable_attribute() -> None:
    rng = random.Random(0)
    for seed in range(40):
        attributes = sample_attributes(seed)
        negative = counterfactual_caption(attributes.to_dict(), rng)
        assert negative is not None and negative != caption_from_attributes(attributes)
        # Some single swap of a swappable attribute reproduces it exactly.
        matches = []
        for name in SWAPPABLE:
            for value in type(getattr(attributes, name)):
                changed = AvatarAttributes.from_dict({**attributes.to_dict(), name: value.value})
                if caption_from_attributes(changed) == negative:
                    matches.append(name)
        assert matches, (caption_from_attributes(attributes), negative)


def test_avatars_without_attributes_get_no_counterfactual() -> None:
    assert counterfactual_caption({}, random.Random(0)) is None


def test_a_view_without_the_face_gets_no_counterfactual_about_glasses() -> None:
    rng = random.Random(1)
    for seed in range(40):
        attributes = sample_attributes(seed)
        negative = counterfactual_caption(attributes.to_dict(), rng, face_visible=False)
        original = caption_from_attributes(attributes)
        glasses = re.findall(r"\w+ \w+ (?:glasses|spectacles)", original)
        assert re.findall(r"\w+ \w+ (?:glasses|spectacles)", negative) == glasses, negative
