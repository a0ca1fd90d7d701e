"""Captions of procedural avatars: one canonical sentence and paraphrases, from the attributes.

The captions train a CLIP on our renders, so they name every salient attribute (hairstyle and
hair colour, glasses, hat, facial hair, clothing colour, smile) and never name what is absent:
"glasses" appears only with glasses, so CLIP can learn the contrast. Paraphrases vary the word
order and synonyms (``spectacles``, ``t-shirt``, ``grinning``) but keep the same content words.

Every sentence goes through :func:`with_correct_articles`, so templates may write "a" freely.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from rodin_pipelines.avatars.attributes import (
    AvatarAttributes,
    Expression,
    FacialHair,
    Glasses,
    Hairstyle,
    Hat,
)

HAIR_PHRASES: dict[Hairstyle, tuple[str, ...]] = {
    Hairstyle.BUZZ: ("a {colour} buzz cut", "buzz-cut {colour} hair"),
    Hairstyle.SHORT: ("short {colour} hair", "{colour} hair cut short"),
    Hairstyle.LONG: ("long {colour} hair", "{colour} hair worn long"),
    Hairstyle.BUN: ("{colour} hair in a bun", "a {colour} bun"),
    Hairstyle.CURLY: ("curly {colour} hair", "{colour} curly hair"),
    Hairstyle.MOHAWK: ("a {colour} mohawk", "{colour} hair in a mohawk"),
    Hairstyle.PONYTAIL: ("{colour} hair in a ponytail", "a {colour} ponytail"),
}
"""Ways to say each hairstyle (bald is an adjective of the subject); the first is canonical."""
HAT_NOUNS: dict[Hat, tuple[str, ...]] = {
    Hat.CAP: ("cap", "baseball cap"),
    Hat.BEANIE: ("beanie", "knitted beanie"),
    Hat.TOP_HAT: ("top hat", "tall top hat"),
}
FACIAL_HAIR_PHRASES: dict[FacialHair, tuple[str, ...]] = {
    FacialHair.BEARD: ("a beard", "a full beard"),
    FacialHair.MOUSTACHE: ("a moustache", "a thick moustache"),
}
GLASSES_PHRASES = (
    "{shape} {colour} glasses",
    "{colour} {shape} spectacles",
    "{shape} {colour}-framed glasses",
)
SHIRT_NOUNS = ("shirt", "t-shirt", "top")
SMILE_ADJECTIVES = ("smiling", "grinning")
SMILE_FEATURES = ("a smile", "a big smile")
FRAMINGS = ("", "an avatar of ", "a 3D avatar of ", "a portrait of ", "a 3D render of ")
"""What the sentence says the picture is; "" is the bare subject."""

SMILE_WORDS = ("smiling", "grinning", "smile")
"""Any of these in a caption means the avatar smiles (used by tests and evaluation prompts)."""
GLASSES_WORDS = ("glasses", "spectacles")
MAX_ATTEMPTS_PER_PARAPHRASE = 50

_SILENT_H_PREFIXES = ("hour", "honest", "heir")
_CONSONANT_SOUND_VOWEL_PREFIXES = ("uni", "use", "usu", "one", "eu")
_ARTICLE_PATTERN = re.compile(r"\b([Aa]n?) (\w+)")


def starts_with_vowel_sound(word: str) -> bool:
    """Whether ``word`` takes "an" ("orange", "hour", "8") rather than "a" ("unicorn", "3D")."""
    word = word.lower()
    if word.startswith(_SILENT_H_PREFIXES) or word.startswith(("8", "11", "18")):
        return True
    return word[:1] in "aeiou" and not word.startswith(_CONSONANT_SOUND_VOWEL_PREFIXES)


def with_correct_articles(text: str) -> str:
    """Each "a"/"an" replaced by the one the next word's sound calls for."""

    def fix(match: re.Match[str]) -> str:
        article, word = match.groups()
        wanted = "an" if starts_with_vowel_sound(word) else "a"
        return f"{wanted if article[0] == 'a' else wanted.capitalize()} {word}"

    return _ARTICLE_PATTERN.sub(fix, text)


def join_phrases(phrases: list[str]) -> str:
    """English list: "x", "x and y", "x, y and z" ("" for none)."""
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


@dataclass(frozen=True)
class _Wording:
    """One choice of synonyms and extras; index 0 of every option gives the canonical caption."""

    variant: int = 0  # index into each synonym tuple (modulo its length)
    framing: str = ""
    smile_as_feature: bool = False  # "with a smile" rather than "a smiling man"
    describe_skin_and_eyes: bool = False
    reverse_features: bool = False


@dataclass(frozen=True)
class _Parts:
    """The pieces every template arranges: subject noun phrase, features, hat and clothing."""

    subject: str
    features: list[str]
    hat: str | None
    clothing: str


def _pick(options: tuple[str, ...], variant: int) -> str:
    return options[variant % len(options)]


def _words(value: str) -> str:
    return value.replace("_", " ")


def _parts_from_attributes(attributes: AvatarAttributes, wording: _Wording) -> _Parts:
    a, v = attributes, wording.variant
    smiles = a.expression is Expression.SMILE
    adjectives = []
    if smiles and not wording.smile_as_feature:
        adjectives.append(_pick(SMILE_ADJECTIVES, v))
    if a.hairstyle is Hairstyle.BALD:
        adjectives.append("bald")
    subject = wording.framing + " ".join(["a", *adjectives, a.presentation.value])
    features = []
    if a.hairstyle is not Hairstyle.BALD:
        features.append(_pick(HAIR_PHRASES[a.hairstyle], v).format(colour=a.hair_colour.value))
    if a.glasses is not Glasses.NONE:
        phrase = _pick(GLASSES_PHRASES, v)
        features.append(phrase.format(shape=a.glasses.value, colour=a.glasses_colour.value))
    if a.facial_hair is not FacialHair.NONE:
        features.append(_pick(FACIAL_HAIR_PHRASES[a.facial_hair], v))
    if wording.describe_skin_and_eyes:
        features += [f"{_words(a.skin_tone.value)} skin", f"{a.eye_colour.value} eyes"]
    if smiles and wording.smile_as_feature:
        features.append(_pick(SMILE_FEATURES, v))
    if wording.reverse_features:
        features.reverse()
    hat = None
    if a.hat is not Hat.NONE:
        hat = f"a {_words(a.hat_colour.value)} {_pick(HAT_NOUNS[a.hat], v)}"
    clothing = f"a {a.clothing_colour.value} {_pick(SHIRT_NOUNS, v)}"
    return _Parts(subject, features, hat, clothing)


def _with_clause(features: list[str], prefix: str = " with ") -> str:
    return prefix + join_phrases(features) if features else ""


def _features_then_clothes(p: _Parts) -> str:
    worn = f"wearing {p.hat} and {p.clothing}" if p.hat else f"in {p.clothing}"
    return p.subject + (_with_clause(p.features) + "," if p.features else "") + " " + worn


def _clothes_then_features(p: _Parts) -> str:
    worn = join_phrases([p.hat, p.clothing] if p.hat else [p.clothing])
    return f"{p.subject} wearing {worn}" + _with_clause(p.features, ", with ")


def _in_clothing_with_features(p: _Parts) -> str:
    hat = f" and {p.hat}" if p.hat else ""
    return f"{p.subject} in {p.clothing}{hat}" + _with_clause(p.features)


def _colon_list(p: _Parts) -> str:
    items = [*p.features, *([p.hat] if p.hat else []), p.clothing]
    return f"{p.subject}: " + ", ".join(items)


def _who_has(p: _Parts) -> str:
    worn = join_phrases([p.hat, p.clothing] if p.hat else [p.clothing])
    has = f" who has {join_phrases(p.features)} and" if p.features else " who"
    return f"{p.subject}{has} wears {worn}"


_TEMPLATES: tuple[Callable[[_Parts], str], ...] = (
    _features_then_clothes,  # canonical
    _clothes_then_features,
    _in_clothing_with_features,
    _colon_list,
    _who_has,
)


def _sentence(attributes: AvatarAttributes, template: int, wording: _Wording) -> str:
    parts = _parts_from_attributes(attributes, wording)
    return with_correct_articles(_TEMPLATES[template](parts))


def caption_from_attributes(attributes: AvatarAttributes) -> str:
    """The canonical caption, e.g. "a smiling man with short red hair, round black glasses and a
    beard, in a green shirt", or "a bald woman wearing a blue beanie and an orange shirt"."""
    return _sentence(attributes, 0, _Wording())


def _systematic_wording(index: int) -> tuple[int, _Wording]:
    """The index-th paraphrase choice of the seedless order: templates and synonyms rotate."""
    return index % len(_TEMPLATES), _Wording(
        variant=index,
        framing=FRAMINGS[index % len(FRAMINGS)],
        smile_as_feature=index % 3 == 2,
        describe_skin_and_eyes=index % 2 == 1,
        reverse_features=index % 4 == 3,
    )


def _random_wording(rng: random.Random) -> tuple[int, _Wording]:
    return rng.randrange(len(_TEMPLATES)), _Wording(
        variant=rng.randrange(6),  # 6 is a multiple of every synonym tuple's length
        framing=rng.choice(FRAMINGS),
        smile_as_feature=rng.random() < 0.3,
        describe_skin_and_eyes=rng.random() < 0.5,
        reverse_features=rng.random() < 0.3,
    )


def paraphrases_from_attributes(
    attributes: AvatarAttributes, count: int = 4, seed: int | None = None
) -> list[str]:
    """``count`` distinct paraphrases, none equal to the canonical caption.

    ``seed`` None gives a fixed order that rotates templates and synonyms; an int draws them with
    ``random.Random(seed)`` (deterministic per seed). Every paraphrase names the same salient
    attributes as the caption; some add skin tone and eye colour.
    """
    rng = None if seed is None else random.Random(seed)
    seen = {caption_from_attributes(attributes)}
    paraphrases: list[str] = []
    for attempt in range(1, count * MAX_ATTEMPTS_PER_PARAPHRASE + 1):
        if len(paraphrases) == count:
            break
        template, wording = _systematic_wording(attempt) if rng is None else _random_wording(rng)
        sentence = _sentence(attributes, template, wording)
        if sentence not in seen:
            seen.add(sentence)
            paraphrases.append(sentence)
    if len(paraphrases) < count:
        raise ValueError(f"only {len(paraphrases)} distinct paraphrases found, {count} asked for")
    return paraphrases
