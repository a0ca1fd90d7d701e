"""Counterfactual captions: the avatar's caption with exactly one attribute changed.

Contrastive training on a few hundred avatars learns the cues that separate most pairs in a batch
(hair and clothing colours) and ignores small ones (glasses, hats): a random other caption almost
always differs in colours too. A caption that differs from the true one in a single attribute
("... round glasses ..." vs no glasses) is a hard negative that only that attribute can tell apart
(as in NegCLIP, Yuksekgonul et al. 2023).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from rodin_pipelines.avatars.attributes import AvatarAttributes
from rodin_pipelines.avatars.captions import caption_from_attributes
from rodin_pipelines.training.phrase_captions import FACE_ONLY_ATTRIBUTES

SWAPPABLE = ("glasses", "hat", "hair_colour", "clothing_colour", "facial_hair", "glasses_colour",
             "hat_colour")
"""Attributes a counterfactual may change (each visible from the front when present)."""


def counterfactual_caption(attributes: dict[str, Any], rng: random.Random,
                           face_visible: bool = True) -> str | None:
    """The canonical caption of ``attributes`` with one visible attribute changed (not one of
    :data:`~rodin_pipelines.training.phrase_captions.FACE_ONLY_ATTRIBUTES` when the view does
    not show the face), or ``None`` when there are no attributes (imported avatars) or no change
    alters the caption."""
    if not attributes:
        return None
    original = AvatarAttributes.from_dict(attributes)
    true_caption = caption_from_attributes(original)
    names = [n for n in SWAPPABLE if face_visible or n not in FACE_ONLY_ATTRIBUTES]
    rng.shuffle(names)
    for name in names:
        current = getattr(original, name)
        choices = [value for value in type(current) if value != current]
        rng.shuffle(choices)
        for value in choices:
            changed = caption_from_attributes(dataclasses.replace(original, **{name: value}))
            if changed != true_caption:
                return changed
    return None
