"""Phrase captions are true of their avatar, assert what they say, and share the zero-shot
prompts' wording."""

import random

import pytest
import torch

from rodin_pipelines.avatars.attributes import AvatarAttributes, Glasses, Hat, sample_attributes
from rodin_pipelines.training.multi_positive_loss import described_images
from rodin_pipelines.training.phrase_captions import (
    ANY,
    ATTRIBUTE_PROMPTS,
    CONSTRAINED_ATTRIBUTES,
    assertion_codes,
    attribute_codes,
    attribute_prompt,
    full_caption_assertion,
    phrase_caption,
)

AVATARS = [sample_attributes(seed) for seed in range(200)]


def test_a_phrase_caption_describes_its_own_avatar_and_names_what_it_asserts() -> None:
    rng = random.Random(0)
    for identity, attributes in enumerate(AVATARS):
        phrase = phrase_caption(attributes, rng, max_facets=3)
        codes = attribute_codes(attributes, identity)
        assert described_images(assertion_codes(phrase.asserted)[None], codes[None]).item(), phrase
        mentions_glasses = "glasses" in phrase.text or "spectacles" in phrase.text
        assert mentions_glasses == ("has_glasses" in phrase.asserted or "glasses" in phrase.asserted)
        says_no_glasses = " no glasses" in phrase.text or " no spectacles" in phrase.text
        assert says_no_glasses == (phrase.asserted.get("has_glasses") == 0)
        if phrase.asserted.get("has_hat") == 0:
            assert attributes.hat is Hat.NONE and "no hat" in phrase.text
        assert 1 <= len({k for k in phrase.asserted if k != "presentation"}) <= 6


def test_a_phrase_names_at_most_the_asked_number_of_facets() -> None:
    rng = random.Random(1)
    single = [phrase_caption(a, rng, max_facets=1) for a in AVATARS]
    # One facet asserts one thing, or a style with its colour, a shape with its colour.
    assert all(len(p.asserted.keys() - {"presentation"}) <= 2 for p in single)
    assert all(" and " not in p.text for p in single)


def test_a_phrase_describes_other_avatars_that_share_what_it_says() -> None:
    rng = random.Random(2)
    codes = torch.stack([attribute_codes(a, i) for i, a in enumerate(AVATARS)])
    phrase = next(p for p in (phrase_caption(a, rng, 1) for _ in range(20) for a in AVATARS)
                  if p.asserted == {"has_hat": 1})
    assert phrase.text == "a person wearing a hat"
    described = described_images(assertion_codes(phrase.asserted)[None], codes)[0]
    assert described.tolist() == [a.hat is not Hat.NONE for a in AVATARS]


def test_a_full_caption_describes_only_avatars_that_look_the_same() -> None:
    codes = torch.stack([attribute_codes(a, i) for i, a in enumerate(AVATARS)])
    twin = AvatarAttributes.from_dict({**AVATARS[0].to_dict(), "nose_size": 1.2})
    twin_codes = attribute_codes(twin, len(AVATARS))
    everyone = torch.cat([codes, twin_codes[None]])
    described = described_images(full_caption_assertion(AVATARS[0], 0)[None], everyone)[0]
    assert described[0] and described[-1] and int(described.sum()) == 2
    imported = described_images(full_caption_assertion(None, 3)[None],
                                torch.stack([attribute_codes(None, i) for i in range(5)]))[0]
    assert imported.tolist() == [False, False, False, True, False]


def test_codes_follow_the_constrained_attribute_order() -> None:
    attributes = AVATARS[0]
    codes = attribute_codes(attributes, 7)
    assert codes.shape == (len(CONSTRAINED_ATTRIBUTES),)
    assert codes[CONSTRAINED_ATTRIBUTES.index("identity")] == 7
    assert codes[CONSTRAINED_ATTRIBUTES.index("has_glasses")] == \
        int(attributes.glasses is not Glasses.NONE)
    assert (assertion_codes({}) == ANY).all()
    with pytest.raises(KeyError, match="not among"):
        assertion_codes({"shoe_size": 3})


def test_every_zero_shot_prompt_is_a_phrase_caption_training_can_produce() -> None:
    rng = random.Random(3)
    produced = {phrase_caption(a, rng, max_facets=1).text for _ in range(60) for a in AVATARS}
    for attribute in ATTRIBUTE_PROMPTS:
        for value in {getattr(a, attribute).value for a in AVATARS}:
            assert attribute_prompt(attribute, value) in produced, (attribute, value)


def test_attribute_prompts_read_as_english() -> None:
    assert attribute_prompt("hat", "top_hat") == "a person wearing a top hat"
    assert attribute_prompt("clothing_colour", "orange") == "a person wearing an orange shirt"
    assert attribute_prompt("glasses", "none") == "a person with no glasses"
    assert attribute_prompt("hair_colour", "red") == "a person with red hair"


def test_a_view_without_the_face_gets_no_caption_of_glasses_or_smiles() -> None:
    rng = random.Random(4)
    for attributes in AVATARS:
        phrase = phrase_caption(attributes, rng, max_facets=6, face_visible=False)
        assert not {"glasses", "has_glasses", "glasses_colour", "expression"} & phrase.asserted.keys()
        assert "glasses" not in phrase.text and "smiling" not in phrase.text
