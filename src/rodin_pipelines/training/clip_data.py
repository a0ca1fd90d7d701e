"""Image–caption pairs from avatar folders, for training the domain CLIP.

One item per avatar: a random view, composited on a random background colour and augmented
(crop, colour, blur) so the CLIP does not only work on perfect renders, with a random caption
among the avatar's caption and paraphrases, or sometimes a short phrase caption naming a few of
its attributes (:mod:`~rodin_pipelines.training.phrase_captions`). Each item carries what its
avatar is and what its text asserts, so the loss knows which other images a text describes
(another view of the same avatar in a batch included: batches may be drawn with replacement).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from rodin_pipelines.avatars.folder import FRONTAL_SPLIT, AvatarViews, read_avatar_folder
from rodin_pipelines.rendering.cameras import azimuth_from_face
from rodin_pipelines.avatars.attributes import AvatarAttributes
from rodin_pipelines.models.clip_preprocessing import (
    Augmentation,
    clip_image_transform,
    over_background,
)
from rodin_pipelines.training.hard_negatives import counterfactual_caption
from rodin_pipelines.training.phrase_captions import (
    attribute_codes,
    assertion_codes,
    full_caption_assertion,
    phrase_caption,
)


@dataclass(frozen=True)
class CaptionSampling:
    """Which view and which text an item shows.

    Attributes:
        frontal_probability: chance of showing the frontal view (the view the latent is taken
            from, and where glasses show) instead of a random one.
        hard_negatives: add a counterfactual caption (one attribute changed) to stored captions.
        phrase_probability: chance of a phrase caption instead of a stored one (avatars with
            attributes, augmented items only).
        max_phrase_facets: most facets a phrase caption names.
        face_visible_degrees: views within this azimuth of the face show it; captions of other
            views say nothing about glasses or smiles that they could not show.
    """

    frontal_probability: float = 0.0
    hard_negatives: bool = False
    phrase_probability: float = 0.0
    max_phrase_facets: int = 3
    face_visible_degrees: float = 90.0


def augmentation_from_config(config: dict[str, Any] | None) -> Augmentation | None:
    """The ``augmentation`` block of the parameters (YAML lists → tuples); ``None``: off."""
    if config is None:
        return None
    return Augmentation(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})


class AvatarCaptionPairs(Dataset):
    """``(image (3, S, S), tokens (L,), negative tokens (L,), has negative (), avatar codes (A,),
    text assertions (A,), face visible ())`` items, one per avatar folder with captions (codes: see
    :mod:`~rodin_pipelines.training.phrase_captions`).

    ``augmentation=None`` shows the stored caption of the first view on white: a fixed item.
    """

    def __init__(self, avatars: dict[str, Callable[[], AvatarViews]] | list[str],
                 tokenizer: Callable[[list[str]], Tensor], image_size: int,
                 augmentation: Augmentation | None = Augmentation(),
                 sampling: CaptionSampling = CaptionSampling()) -> None:
        readers = (avatars.values() if isinstance(avatars, dict)
                   else [lambda f=f: read_avatar_folder(f) for f in avatars])
        self.avatars = [avatar for avatar in (read() for read in readers) if avatar.captions]
        if not self.avatars:
            raise ValueError("no avatars with captions to train a CLIP on; run the render stage")
        self.tokenizer = tokenizer
        self.transform = clip_image_transform(image_size, augmentation)
        self.augment = augmentation is not None
        self.sampling = sampling
        self.attributes = [AvatarAttributes.from_dict(a.attributes) if a.attributes else None
                           for a in self.avatars]
        self.face_visible = [
            (azimuth_from_face(torch.stack([f.camera_to_world for f in a.transforms.frames]))
             .abs() <= sampling.face_visible_degrees).tolist() for a in self.avatars]
        self.rng = random.Random(0)

    def __len__(self) -> int:
        return len(self.avatars)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        avatar = self.avatars[index]
        view = int(torch.randint(len(avatar.images), ()).item()) if self.augment else 0
        frontal = avatar.split_indices(FRONTAL_SPLIT)
        if frontal and float(torch.rand(())) < self.sampling.frontal_probability:
            view = frontal[0]
        background = torch.rand(3) if self.augment else torch.ones(3)
        image = self.transform(over_background(avatar.images[view], background))
        attributes = self.attributes[index]
        codes = attribute_codes(attributes, index)
        face_visible = self.face_visible[index][view]
        if (self.augment and attributes is not None
                and float(torch.rand(())) < self.sampling.phrase_probability):
            phrase = phrase_caption(attributes, self.rng, self.sampling.max_phrase_facets,
                                    face_visible)
            tokens = self.tokenizer([phrase.text])[0]
            return (image, tokens, tokens, torch.tensor(False), codes,
                    assertion_codes(phrase.asserted), torch.tensor(face_visible))
        caption = avatar.captions[int(torch.randint(len(avatar.captions), ()).item())
                                  if self.augment else 0]
        tokens = self.tokenizer([caption])[0]
        negative = (counterfactual_caption(avatar.attributes, self.rng, face_visible)
                    if self.sampling.hard_negatives else None)
        negative_tokens = tokens if negative is None else self.tokenizer([negative])[0]
        return (image, tokens, negative_tokens, torch.tensor(negative is not None), codes,
                full_caption_assertion(attributes, index), torch.tensor(face_visible))
