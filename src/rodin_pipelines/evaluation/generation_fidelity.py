"""Does a generated avatar follow its condition? Agreement of an independent judge's attribute
predictions with what the condition (an avatar's latent, a prompt, a portrait, an edit) says.

The judge is :mod:`.attribute_network` (trained on real renders only). Attributes are compared as
codes: an enum attribute's code is its member's position in its enum (as in
:mod:`~rodin_pipelines.training.phrase_captions`). Glasses are scored as present or absent
(the issue's "glasses vs none"); the hat by kind, "none" included, unless a prompt only says
"a hat" or "no hat", which asserts presence alone. What the avatar's renders cannot show is not
scored (:func:`~rodin_pipelines.evaluation.attribute_views.hidden_attributes`: the hair colour
under a hat or on a bald or buzzed head; the judge never learnt it there).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.avatars.attributes import AvatarAttributes, Glasses, Hairstyle, Hat
from rodin_pipelines.evaluation.attribute_views import hidden_attributes, hidden_by
from rodin_pipelines.training.phrase_captions import FACETS_BY_ATTRIBUTE, phrase_sentence

SCORED_ATTRIBUTES = ("clothing_colour", "hair_colour", "hat", "glasses")
"""What generation fidelity is scored on, in report order."""
PRESENCE_ONLY = {"glasses": Glasses.NONE, "hat": Hat.NONE}
"""Accessories, and the member that means "absent"."""
_NONE_CODE = {name: list(type(member)).index(member) for name, member in PRESENCE_ONLY.items()}


def presence(codes: Tensor, attribute: str) -> Tensor:
    """``(B,)`` bool: the accessory is there (its code is not the "none" member's)."""
    return codes != _NONE_CODE[attribute]


def codes_of(attributes: list[AvatarAttributes], attribute: str) -> Tensor:
    """``(B,)`` long codes of one attribute of each avatar."""
    return torch.tensor([list(type(v)).index(v) for v in
                         (getattr(a, attribute) for a in attributes)])


def shown_of(attributes: list[AvatarAttributes]) -> dict[str, Tensor]:
    """``{attribute: (B,) bool}``: whether each avatar's renders show the scored attribute."""
    hidden = [hidden_attributes(a) for a in attributes]
    return {name: torch.tensor([name not in h for h in hidden], dtype=torch.bool)
            for name in SCORED_ATTRIBUTES}


def attribute_agreement(predicted: dict[str, Tensor], truth: dict[str, Tensor],
                        shown: dict[str, Tensor] | None = None) -> dict[str, float]:
    """Share of rows where the prediction agrees with the truth, per scored attribute
    (``glasses`` by presence, the others by code); codes ``(B,)`` long. ``shown``
    (:func:`shown_of` the truths): only rows whose truth shows the attribute count (NaN where
    none does); ``None``: every row."""
    scores = {}
    for name in SCORED_ATTRIBUTES:
        p, t = predicted[name], truth[name]
        if name == "glasses":
            p, t = presence(p, name), presence(t, name)
        rows = torch.ones_like(t, dtype=torch.bool) if shown is None else shown[name]
        scores[name] = float((p == t)[rows].float().mean()) if bool(rows.any()) else float("nan")
    return scores


@dataclass(frozen=True)
class ScoredPrompt:
    """A prompt and what it names: ``{attribute: code}`` over :data:`SCORED_ATTRIBUTES`, the
    attributes named by presence alone (``"a hat"``, ``"no glasses"``), and those named but
    not scored because what else it names hides them (red hair under a named beanie)."""

    text: str
    named: dict[str, int]
    presence_only: tuple[str, ...]
    unscored: tuple[str, ...] = ()


def scored_prompts(attributes: list[AvatarAttributes], count: int, seed: int,
                   max_facets: int = 3) -> list[ScoredPrompt]:
    """``count`` phrase-caption prompts, each naming 1 to ``max_facets`` of the scored
    attributes of one of ``attributes`` (cycled), worded as the CLIP was trained to read them
    (:func:`~rodin_pipelines.training.phrase_captions.phrase_sentence`)."""
    rng = random.Random(seed)
    prompts = []
    for index in range(count):
        avatar = attributes[index % len(attributes)]
        chosen = rng.sample(sorted(FACETS_BY_ATTRIBUTE), rng.randint(1, max_facets))
        facets = [FACETS_BY_ATTRIBUTE[name](avatar, rng) for name in chosen]
        named: dict[str, int] = {}
        presence_only: list[str] = []
        for facet in facets:
            asserted = facet.asserted
            for name in ("clothing_colour", "hair_colour", "hat", "glasses"):
                if name in asserted:
                    named[name] = asserted[name]
            for name in ("hat", "glasses"):
                if f"has_{name}" in asserted and name not in asserted:
                    present = asserted[f"has_{name}"]
                    named[name] = codes_of([avatar], name).item() if present else _NONE_CODE[name]
                    presence_only.append(name)
        if not named:  # a bald avatar's hair facet names the style only: say its shirt instead
            facet = FACETS_BY_ATTRIBUTE["clothing_colour"](avatar, rng)
            facets.append(facet)
            named["clothing_colour"] = facet.asserted["clothing_colour"]
        asserted = {k: v for facet in facets for k, v in facet.asserted.items()}
        prompts.append(ScoredPrompt(phrase_sentence(facets), named, tuple(presence_only),
                                    hidden_by_prompt(asserted, named)))
    return prompts


def hidden_by_prompt(asserted: dict[str, int], named: dict[str, int]) -> tuple[str, ...]:
    """The named hair colour, when the prompt also names a hat or a bald or buzzed head (the
    rule of :func:`~rodin_pipelines.evaluation.attribute_views.hidden_by`)."""
    hatted = named.get("hat", _NONE_CODE["hat"]) != _NONE_CODE["hat"]
    style = list(Hairstyle)[asserted["hairstyle"]] if "hairstyle" in asserted else None
    return tuple(name for name in named if name in hidden_by(hatted, style))


def prompt_agreement(predicted: dict[str, Tensor], prompts: list[ScoredPrompt]
                     ) -> dict[str, float]:
    """Per scored attribute: the share of prompts naming it whose sample the judge agrees with
    (glasses and presence-only hats by presence). NaN for an attribute no prompt names."""
    hits: dict[str, list[bool]] = {name: [] for name in SCORED_ATTRIBUTES}
    for row, prompt in enumerate(prompts):
        for name, code in prompt.named.items():
            if name in prompt.unscored:
                continue
            guess = int(predicted[name][row])
            if name == "glasses" or name in prompt.presence_only:
                hits[name].append((guess != _NONE_CODE[name]) == (code != _NONE_CODE[name]))
            else:
                hits[name].append(guess == code)
    return {name: (sum(h) / len(h) if h else float("nan")) for name, h in hits.items()}


def own_rank_by_similarity(sample_embeddings: Tensor, avatar_latents: Tensor) -> Tensor:
    """``(N,)`` rank (0 = most similar) of each sample's own avatar among ``N`` by cosine of the
    sample's CLIP embedding ``(N, D)`` to the avatars' latents ``(N, D)`` (row i is avatar i's)."""
    a = torch.nn.functional.normalize(sample_embeddings.float(), dim=-1)
    b = torch.nn.functional.normalize(avatar_latents.float(), dim=-1)
    similarity = a @ b.T
    own = similarity.diagonal()[:, None]
    return (similarity > own).sum(1)
