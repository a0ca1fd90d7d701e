"""Does a generated avatar follow its condition? Agreement of an independent judge's attribute
predictions with what the condition (an avatar's latent, a prompt, a portrait, an edit) says.

The judge is :mod:`.attribute_network` (trained on real renders only). Attributes are compared as
codes: an enum attribute's code is its member's position in its enum (as in
:mod:`~rodin_pipelines.training.phrase_captions`). Glasses are scored as present or absent
(the issue's "glasses vs none"); the hat by kind, "none" included, unless a prompt only says
"a hat" or "no hat", which asserts presence alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from torch import Tensor

from rodin_pipelines.avatars.attributes import AvatarAttributes, Glasses, Hat
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


def attribute_agreement(predicted: dict[str, Tensor], truth: dict[str, Tensor]
                        ) -> dict[str, float]:
    """Share of rows where the prediction agrees with the truth, per scored attribute
    (``glasses`` by presence, the others by code); codes ``(B,)`` long."""
    scores = {}
    for name in SCORED_ATTRIBUTES:
        p, t = predicted[name], truth[name]
        if name == "glasses":
            p, t = presence(p, name), presence(t, name)
        scores[name] = float((p == t).float().mean())
    return scores


@dataclass(frozen=True)
class ScoredPrompt:
    """A prompt and what it names: ``{attribute: code}`` over :data:`SCORED_ATTRIBUTES`, and
    the attributes named by presence alone (``"a hat"``, ``"no glasses"``)."""

    text: str
    named: dict[str, int]
    presence_only: tuple[str, ...]


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
        prompts.append(ScoredPrompt(phrase_sentence(facets), named, tuple(presence_only)))
    return prompts


def prompt_agreement(predicted: dict[str, Tensor], prompts: list[ScoredPrompt]
                     ) -> dict[str, float]:
    """Per scored attribute: the share of prompts naming it whose sample the judge agrees with
    (glasses and presence-only hats by presence). NaN for an attribute no prompt names."""
    hits: dict[str, list[bool]] = {name: [] for name in SCORED_ATTRIBUTES}
    for row, prompt in enumerate(prompts):
        for name, code in prompt.named.items():
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
