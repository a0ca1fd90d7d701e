"""Captions and paraphrases name exactly the attributes an avatar has."""

from __future__ import annotations

import re

import pytest

from rodin_pipelines.avatars.attributes import (
    AvatarAttributes,
    Expression,
    FacialHair,
    Glasses,
    Hairstyle,
    Hat,
    sample_attribute_sets,
)
from rodin_pipelines.avatars.captions import (
    GLASSES_WORDS,
    SMILE_WORDS,
    caption_from_attributes,
    join_phrases,
    paraphrases_from_attributes,
    starts_with_vowel_sound,
    with_correct_articles,
)

HAT_WORDS = {Hat.CAP: "cap", Hat.BEANIE: "beanie", Hat.TOP_HAT: "top hat"}
FACIAL_HAIR_WORDS = {FacialHair.BEARD: "beard", FacialHair.MOUSTACHE: "moustache"}


@pytest.fixture(scope="module")
def avatars() -> list[AvatarAttributes]:
    return sample_attribute_sets(100, 200)


def example_attributes(**changes) -> AvatarAttributes:
    base = dict(
        presentation="man", head_shape="oval", head_width=1.0, head_height=1.0, nose_size=1.0,
        eye_spacing=1.0, ear_size=1.0, jaw_width=1.0, skin_tone="light", eye_colour="blue",
        hairstyle="short", hair_colour="red", facial_hair="beard", glasses="round",
        glasses_colour="black", hat="none", hat_colour="red", clothing_colour="green",
        expression="smile",
    )  # fmt: skip
    return AvatarAttributes(**(base | changes))


def has_word(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text) is not None


def assert_names_salient_attributes(text: str, a: AvatarAttributes) -> None:
    """Every salient attribute is named, and nothing absent is."""
    assert has_word(text, a.presentation.value), text
    if a.hairstyle is Hairstyle.BALD:
        assert has_word(text, "bald") and not has_word(text, "hair"), text
    else:
        assert has_word(text, a.hairstyle.value) and has_word(text, a.hair_colour.value), text
        assert not has_word(text, "bald"), text
    wears_glasses = a.glasses is not Glasses.NONE
    assert any(word in text for word in GLASSES_WORDS) == wears_glasses, text
    if wears_glasses:
        assert has_word(text, a.glasses.value) and has_word(text, a.glasses_colour.value), text
    for hat, word in HAT_WORDS.items():
        assert has_word(text, word) == (a.hat is hat), text
    for facial_hair, word in FACIAL_HAIR_WORDS.items():
        assert (word in text) == (a.facial_hair is facial_hair), text
    assert has_word(text, a.clothing_colour.value), text
    smiles = a.expression is Expression.SMILE
    assert any(word in text for word in SMILE_WORDS) == smiles, text


def test_canonical_captions_read_as_natural_sentences() -> None:
    assert (
        caption_from_attributes(example_attributes())
        == "a smiling man with short red hair, round black glasses and a beard, in a green shirt"
    )
    bald_in_beanie = example_attributes(
        presentation="woman", hairstyle="bald", facial_hair="none", glasses="none",
        hat="beanie", hat_colour="blue", clothing_colour="orange", expression="neutral",
    )  # fmt: skip
    assert caption_from_attributes(bald_in_beanie) == (
        "a bald woman wearing a blue beanie and an orange shirt"
    )
    plain = example_attributes(
        presentation="person", hairstyle="ponytail", hair_colour="blonde", facial_hair="none",
        glasses="none", clothing_colour="teal", expression="neutral",
    )  # fmt: skip
    assert caption_from_attributes(plain) == (
        "a person with blonde hair in a ponytail, in a teal shirt"
    )
    top_hat = example_attributes(hat="top_hat", hat_colour="black", facial_hair="moustache")
    assert caption_from_attributes(top_hat) == (
        "a smiling man with short red hair, round black glasses and a moustache, "
        "wearing a black top hat and a green shirt"
    )


def test_captions_name_exactly_the_attributes_present(avatars) -> None:
    for avatar in avatars:
        assert_names_salient_attributes(caption_from_attributes(avatar), avatar)


def test_paraphrases_are_distinct_and_name_the_same_attributes(avatars) -> None:
    for index, avatar in enumerate(avatars[:100]):
        caption = caption_from_attributes(avatar)
        for seed in (None, index):
            paraphrases = paraphrases_from_attributes(avatar, count=4, seed=seed)
            assert len(paraphrases) == 4
            assert len({caption, *paraphrases}) == 5
            for paraphrase in paraphrases:
                assert_names_salient_attributes(paraphrase, avatar)


def test_paraphrases_use_synonyms_and_different_orders() -> None:
    avatar = example_attributes(hat="cap", hat_colour="blue")
    paraphrases = paraphrases_from_attributes(avatar, count=8)
    text = " | ".join(paraphrases)
    assert "spectacles" in text and "t-shirt" in text and "grinning" in text
    opening_words = {paraphrase.split(" with ")[0] for paraphrase in paraphrases}
    assert len(opening_words) >= 4


def test_paraphrases_are_deterministic_per_seed() -> None:
    avatar = example_attributes()
    seed_3 = paraphrases_from_attributes(avatar, seed=3)
    assert seed_3 == paraphrases_from_attributes(avatar, seed=3)
    assert seed_3 != paraphrases_from_attributes(avatar, seed=4)
    assert paraphrases_from_attributes(avatar) == paraphrases_from_attributes(avatar)


def test_even_the_plainest_avatar_has_many_distinct_paraphrases() -> None:
    plainest = example_attributes(hairstyle="bald", facial_hair="none", glasses="none",
                                  expression="neutral")  # fmt: skip
    assert len(set(paraphrases_from_attributes(plainest, count=12, seed=0))) == 12


def test_articles_follow_the_sound_of_the_next_word(avatars) -> None:
    words = ("orange", "avatar", "hour", "8", "unicorn", "3D", "blue")
    assert [starts_with_vowel_sound(word) for word in words] == [True] * 4 + [False] * 3
    assert with_correct_articles("a orange top and an blue cap") == "an orange top and a blue cap"
    for avatar in avatars:
        for text in [caption_from_attributes(avatar), *paraphrases_from_attributes(avatar, seed=1)]:
            for article, word in re.findall(r"\b(an?) (\w+)", text):
                # Our vocabulary has no silent h and no "you"-sounding u, so the letter decides.
                assert article == ("an" if word[0] in "aeiou" else "a"), text


def test_join_phrases_writes_english_lists() -> None:
    assert join_phrases([]) == ""
    assert join_phrases(["x"]) == "x"
    assert join_phrases(["x", "y"]) == "x and y"
    assert join_phrases(["x", "y", "z"]) == "x, y and z"
