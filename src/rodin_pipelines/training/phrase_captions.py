"""Phrase captions: short true descriptions naming a few attributes, and what each asserts.

Our stored captions name every attribute. A CLIP trained on them alone never reads the short
prompts people type ("a person with red hair", "a person wearing a hat") and places them
anywhere; and it can tell two hundred avatars apart by memorising colour combinations without
learning to see a hat. A phrase caption names one to a few facets of the avatar ("a smiling
person with glasses, wearing a green cap") and records the attribute values it asserts, so the
contrastive loss counts every image in a batch that it also describes as a positive
(:func:`~rodin_pipelines.training.multi_positive_loss.multi_positive_clip_loss`).

Absence is sayable here ("a person with no glasses"), unlike in the stored captions, so that
"none" has a prompt of its own for zero-shot classification and editing.

Assertions are codes over :data:`CONSTRAINED_ATTRIBUTES` (``(A,)`` long tensors): an enum
attribute's code is its member's position in the enum, ``has_*`` are 0/1, and :data:`ANY` marks
an attribute the text does not mention.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.avatars.attributes import (
    AvatarAttributes,
    Expression,
    FacialHair,
    Glasses,
    Hairstyle,
    Hat,
    Presentation,
)
from rodin_pipelines.avatars.captions import (
    FACIAL_HAIR_PHRASES,
    HAIR_PHRASES,
    HAT_NOUNS,
    SHIRT_NOUNS,
    join_phrases,
    with_correct_articles,
)

IDENTITY = "identity"
"""Code of which avatar an item is; asserted only by a full caption of an avatar without
attributes (imported), which can describe no other."""
CONSTRAINED_ATTRIBUTES = (
    IDENTITY, "presentation", "hairstyle", "hair_colour", "facial_hair", "glasses",
    "glasses_colour", "hat", "hat_colour", "clothing_colour", "expression", "skin_tone",
    "eye_colour", "has_glasses", "has_hat",
)  # fmt: skip
"""The attributes a caption can assert, in code order."""
FACE_ONLY_ATTRIBUTES = ("glasses", "glasses_colour", "has_glasses", "expression")
"""Attributes only a view of the face shows: captions of other views do not mention them,
counterfactuals do not change them, and attribute pre-training does not label them."""
ANY = -1
"""Code of an attribute a caption does not mention."""
UNKNOWN = -2
"""Code of an attribute an avatar does not have (imported avatars): matches no assertion."""
GLASSES_WORDS = ("glasses", "spectacles")
HAT_WORDS = ("hat",)


@dataclass(frozen=True)
class PhraseCaption:
    """A text and the attribute codes it asserts (``{name: code}``, the rest :data:`ANY`)."""

    text: str
    asserted: dict[str, int]


@dataclass(frozen=True)
class _Facet:
    """One thing said: an adjective of the subject, a "with" feature or a "wearing" item."""

    kind: str  # "adjective", "with" or "wearing"
    words: str
    asserted: dict[str, int]


def _code(value: Any) -> int:
    return list(type(value)).index(value)


def attribute_codes(attributes: AvatarAttributes | None, identity: int) -> Tensor:
    """What an avatar is: codes ``(A,)`` over :data:`CONSTRAINED_ATTRIBUTES`."""
    if attributes is None:
        return torch.tensor([identity] + [UNKNOWN] * (len(CONSTRAINED_ATTRIBUTES) - 1))
    derived = {IDENTITY: identity, "has_glasses": int(attributes.glasses is not Glasses.NONE),
               "has_hat": int(attributes.hat is not Hat.NONE)}
    return torch.tensor([derived[name] if name in derived else _code(getattr(attributes, name))
                         for name in CONSTRAINED_ATTRIBUTES])


def assertion_codes(asserted: dict[str, int]) -> Tensor:
    """What a caption claims: codes ``(A,)``, :data:`ANY` where it says nothing."""
    unknown = set(asserted) - set(CONSTRAINED_ATTRIBUTES)
    if unknown:
        raise KeyError(f"{sorted(unknown)} are not among {CONSTRAINED_ATTRIBUTES}")
    return torch.tensor([asserted.get(name, ANY) for name in CONSTRAINED_ATTRIBUTES])


def full_caption_assertion(attributes: AvatarAttributes | None, identity: int) -> Tensor:
    """A stored caption names everything: it describes exactly the avatars that look the same
    (every attribute but identity), or only itself when its attributes are unknown."""
    if attributes is None:
        return assertion_codes({IDENTITY: identity})
    codes = attribute_codes(attributes, identity)
    codes[CONSTRAINED_ATTRIBUTES.index(IDENTITY)] = ANY
    return codes


def _hair(a: AvatarAttributes, rng: random.Random) -> _Facet:
    if a.hairstyle is Hairstyle.BALD:
        return _Facet("adjective", "bald", {"hairstyle": _code(a.hairstyle)})
    if rng.random() < 0.5:
        return _Facet("with", f"{a.hair_colour.value} hair", {"hair_colour": _code(a.hair_colour)})
    phrase = rng.choice(HAIR_PHRASES[a.hairstyle]).format(colour=a.hair_colour.value)
    return _Facet("with", phrase, {"hairstyle": _code(a.hairstyle),
                                   "hair_colour": _code(a.hair_colour)})


def _glasses(a: AvatarAttributes, rng: random.Random) -> _Facet:
    if a.glasses is Glasses.NONE:
        return _Facet("with", f"no {rng.choice(GLASSES_WORDS)}", {"has_glasses": 0})
    noun, shape, colour = rng.choice(GLASSES_WORDS), a.glasses.value, a.glasses_colour.value
    return rng.choice((
        _Facet("with", noun, {"has_glasses": 1}),
        _Facet("with", f"{shape} {noun}", {"glasses": _code(a.glasses)}),
        _Facet("with", f"{colour} {noun}", {"has_glasses": 1,
                                            "glasses_colour": _code(a.glasses_colour)}),
        _Facet("with", f"{shape} {colour} {noun}", {"glasses": _code(a.glasses),
                                                    "glasses_colour": _code(a.glasses_colour)}),
    ))  # fmt: skip


def _hat(a: AvatarAttributes, rng: random.Random) -> _Facet:
    if a.hat is Hat.NONE:
        return _Facet("with", "no hat", {"has_hat": 0})
    noun, colour = rng.choice(HAT_NOUNS[a.hat]), a.hat_colour.value.replace("_", " ")
    return rng.choice((
        _Facet("wearing", "a hat", {"has_hat": 1}),
        _Facet("wearing", f"a {noun}", {"hat": _code(a.hat)}),
        _Facet("wearing", f"a {colour} {noun}", {"hat": _code(a.hat),
                                                 "hat_colour": _code(a.hat_colour)}),
    ))  # fmt: skip


def _clothing(a: AvatarAttributes, rng: random.Random) -> _Facet:
    return _Facet("wearing", f"a {a.clothing_colour.value} {rng.choice(SHIRT_NOUNS)}",
                  {"clothing_colour": _code(a.clothing_colour)})


def _facial_hair(a: AvatarAttributes, rng: random.Random) -> _Facet | None:
    if a.facial_hair is FacialHair.NONE:
        return None
    return _Facet("with", rng.choice(FACIAL_HAIR_PHRASES[a.facial_hair]),
                  {"facial_hair": _code(a.facial_hair)})


def _smile(a: AvatarAttributes, rng: random.Random) -> _Facet | None:
    if a.expression is not Expression.SMILE:
        return None
    return _Facet("adjective", "smiling", {"expression": _code(a.expression)})


FACETS: tuple[Callable[[AvatarAttributes, random.Random], _Facet | None], ...] = (
    _hair, _glasses, _hat, _clothing, _facial_hair, _smile,
)
FACETS_BY_ATTRIBUTE = {"hair_colour": _hair, "glasses": _glasses, "hat": _hat,
                       "clothing_colour": _clothing}
"""The facet that names each attribute a generated avatar is scored on (a hair facet may name
the style alone when the avatar is bald)."""
FACE_FACETS = (_glasses, _smile)
"""Facets only a view of the face shows: a caption of a view from behind must not name them,
or the CLIP learns that glasses (or their absence) look like the back of a head."""


def phrase_sentence(facets: list[_Facet], subject: str = "person") -> str:
    """"a {adjectives} {subject} with {features}, wearing {items}" with what is there."""
    adjectives = [f.words for f in facets if f.kind == "adjective"]
    features = [f.words for f in facets if f.kind == "with"]
    worn = [f.words for f in facets if f.kind == "wearing"]
    text = " ".join(["a", *adjectives, subject])
    if features:
        text += " with " + join_phrases(features)
    if worn:
        text += (", " if features else " ") + "wearing " + join_phrases(worn)
    return with_correct_articles(text)


def phrase_caption(attributes: AvatarAttributes, rng: random.Random, max_facets: int = 3,
                   face_visible: bool = True) -> PhraseCaption:
    """A short caption naming 1 to ``max_facets`` randomly chosen facets of ``attributes``,
    sometimes with the presentation as subject ("a woman ...") instead of "a person"; without
    :data:`FACE_FACETS` when the view does not show the face."""
    makers = [m for m in FACETS if face_visible or m not in FACE_FACETS]
    facets = [f for f in (make(attributes, rng) for make in makers) if f is not None]
    chosen = rng.sample(facets, rng.randint(1, min(max_facets, len(facets))))
    asserted: dict[str, int] = {}
    for facet in chosen:
        asserted.update(facet.asserted)
    subject = Presentation.PERSON.value
    if attributes.presentation is not Presentation.PERSON and rng.random() < 0.3:
        subject = attributes.presentation.value
        asserted["presentation"] = _code(attributes.presentation)
    return PhraseCaption(phrase_sentence(chosen, subject), asserted)


ATTRIBUTE_PROMPTS = {
    "hair_colour": "a person with {} hair",
    "clothing_colour": "a person wearing a {} shirt",
    "glasses": "a person with {} glasses",
    "hat": "a person wearing a {}",
}
"""One-attribute prompts worded as phrase captions word them, for zero-shot classification."""
ABSENT_PROMPTS = {"glasses": "a person with no glasses", "hat": "a person with no hat"}
"""The prompt of an absent accessory (value ``none``)."""
ABSENT = "none"
PRESENCE_PROMPTS = {
    "glasses": {"absent": "a person with no glasses", "present": "a person with glasses"},
    "hat": {"absent": "a person with no hat", "present": "a person wearing a hat"},
}
"""Whether an accessory is there at all, whatever its kind."""


def presence_label(value: str) -> str:
    """``"absent"`` for ``none``, else ``"present"`` (the keys of :data:`PRESENCE_PROMPTS`)."""
    return "absent" if value == ABSENT else "present"


def attribute_prompt(attribute: str, value: str) -> str:
    """The prompt of ``value`` of ``attribute``: ``("hat", "top_hat")`` → "a person wearing a
    top hat", ``("glasses", "none")`` → "a person with no glasses"."""
    if value == ABSENT and attribute in ABSENT_PROMPTS:
        return ABSENT_PROMPTS[attribute]
    return with_correct_articles(ATTRIBUTE_PROMPTS[attribute].format(value.replace("_", " ")))
