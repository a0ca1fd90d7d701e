"""Labelled views for the independent attribute network: images and ground-truth attribute codes.

The attribute network (:mod:`~rodin_pipelines.evaluation.attribute_network`) scores generated
avatars by what it sees in them, so it learns from renders of real avatars with the attributes
that produced them. An item is one view: an RGB image ``(3, H, W)`` composited on
:data:`BACKGROUND` (the colour every evaluated image is composited on, generated renders
included) and a label row ``(A,)`` over :data:`ATTRIBUTES`, a class index into
:func:`attribute_classes` or :data:`MASKED`.

A face attribute (:data:`FACE_ATTRIBUTES`) is masked on views that do not show the face, as the
CLIP's attribute pre-training masks it; what an avatar's renders do not show is masked on every
view (:func:`hidden_attributes`: the hairstyle under a hat, the hair colour under a hat or on a
bald or buzzed head); avatars without attributes (imported) are all masked. Labelling what cannot
be seen teaches a network to recognise avatars instead of attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import NamedTuple

import torch
from torch import Tensor

from rodin_pipelines.avatars.attributes import (
    AvatarAttributes,
    Hairstyle,
    Hat,
    categorical_attribute_types,
)
from rodin_pipelines.avatars.folder import AvatarViews
from rodin_pipelines.evaluation.generative_metrics import WHITE, rgba_to_rgb_batch
from rodin_pipelines.rendering.cameras import azimuth_from_face
from rodin_pipelines.training.phrase_captions import (
    CONSTRAINED_ATTRIBUTES,
    FACE_ONLY_ATTRIBUTES,
    attribute_codes,
)

ATTRIBUTES = ("hair_colour", "hairstyle", "clothing_colour", "hat", "glasses", "facial_hair")
"""What the network classifies, one head each, in label-column order. ``hat``, ``glasses`` and
``facial_hair`` include their ``none`` member."""
FACE_ATTRIBUTES = (*(a for a in ATTRIBUTES if a in FACE_ONLY_ATTRIBUTES), "facial_hair")
"""Labelled only on views that show the face: the CLIP's face-only attributes, and facial hair,
which the back of the head hides (captions of back views may still name a beard, which is why
the captions' list does not hold it)."""
HAT_HIDDEN_ATTRIBUTES = ("hairstyle", "hair_colour")
"""Hidden by a hat: a cap, beanie or top hat covers the styled part of the hair (a bald head and a
short cut look the same under a beanie) and most of its colour (measured: a judge trained with
these labels got 0.06-0.29 of hat-wearers' hair colours right on held-out avatars, 1.00 of the
others')."""
HAIR_COLOUR_HIDDEN_STYLES = (Hairstyle.BALD, Hairstyle.BUZZ)
"""Hairstyles whose renders do not show the hair colour: none at all, or a shell one or two
pixels thick over the scalp at 64² (only the eyebrows and facial hair carry the colour; a judge
got 0.57-0.67 of these right on held-out avatars)."""
BACKGROUND = WHITE
"""Colour transparent pixels are composited on, for training and for every scored image."""
MASKED = -1
"""Label of an attribute a view does not show or an avatar does not have: ignored by the loss
and by :func:`~rodin_pipelines.evaluation.attribute_network.attribute_accuracy`."""
FACE_VISIBLE_DEGREES = 90.0
"""Default azimuth from the face within which a view shows it (as the CLIP data's)."""


def attribute_classes() -> dict[str, tuple[str, ...]]:
    """Class names of each attribute of :data:`ATTRIBUTES`, in label order (the enum's order in
    :mod:`~rodin_pipelines.avatars.attributes`): ``{"hat": ("none", "cap", ...), ...}``."""
    enums = categorical_attribute_types()
    return {name: tuple(member.value for member in enums[name]) for name in ATTRIBUTES}


def hidden_by(hat_worn: bool, hairstyle: Hairstyle | None) -> tuple[str, ...]:
    """Attributes of :data:`ATTRIBUTES` that renders do not show, given whether a hat is worn
    and the hairstyle (``None``: not known): the one rule for the judge's labels and for what
    generation fidelity scores, of avatars and of prompts alike."""
    hidden: list[str] = list(HAT_HIDDEN_ATTRIBUTES) if hat_worn else []
    if hairstyle in HAIR_COLOUR_HIDDEN_STYLES and "hair_colour" not in hidden:
        hidden.append("hair_colour")
    return tuple(hidden)


def hidden_attributes(attributes: AvatarAttributes) -> tuple[str, ...]:
    """Attributes of :data:`ATTRIBUTES` that no render of this avatar shows (:func:`hidden_by`)."""
    return hidden_by(attributes.hat is not Hat.NONE, attributes.hairstyle)


def view_labels(attributes: Mapping[str, object], face_visible: Tensor) -> Tensor:
    """Labels ``(V, A)`` of ``V`` views of one avatar: its attribute codes on every view,
    :data:`MASKED` for face attributes where ``face_visible`` ``(V,)`` is false, for its
    :func:`hidden_attributes`, and everywhere when ``attributes`` is empty (an imported
    avatar)."""
    if not attributes:
        return torch.full((len(face_visible), len(ATTRIBUTES)), MASKED, dtype=torch.long)
    avatar = AvatarAttributes.from_dict(dict(attributes))
    codes = attribute_codes(avatar, identity=0)
    row = codes[[CONSTRAINED_ATTRIBUTES.index(name) for name in ATTRIBUTES]]
    row[[ATTRIBUTES.index(name) for name in hidden_attributes(avatar)]] = MASKED
    labels = row.repeat(len(face_visible), 1)
    face_columns = [ATTRIBUTES.index(name) for name in FACE_ATTRIBUTES]
    labels[:, face_columns] = torch.where(face_visible[:, None], labels[:, face_columns],
                                          torch.tensor(MASKED))
    return labels


def face_visible_from_cameras(camera_to_world: Tensor,
                              degrees: float = FACE_VISIBLE_DEGREES) -> Tensor:
    """Whether each camera ``(B, 4, 4)`` sees the face ``(B,)`` bool: within ``degrees`` of
    azimuth from it (for generated renders, whose cameras are known, as for real ones)."""
    return azimuth_from_face(camera_to_world).abs() <= degrees


def rgb_views(rgba: Tensor) -> Tensor:
    """Straight RGBA ``(B, H, W, 4)`` → the network's input, RGB over :data:`BACKGROUND`
    ``(B, 3, H, W)`` (the same compositing as FID's inputs)."""
    return rgba_to_rgb_batch(rgba)


class LabelledViews(NamedTuple):
    """Images ``(N, 3, H, W)``, labels ``(N, A)`` and the avatar of each view ``(N,)`` long
    (its position in the avatar ids given)."""

    images: Tensor
    labels: Tensor
    avatar: Tensor


def labelled_views(avatars: Mapping[str, Callable[[], AvatarViews]], avatar_ids: Iterable[str],
                   frame_splits: Collection[str] | None = None,
                   face_visible_degrees: float = FACE_VISIBLE_DEGREES) -> LabelledViews:
    """Images, labels and avatar positions of the views of ``avatar_ids``.

    Args:
        avatars: lazy readers by avatar id, as the ``avatars`` / ``clip_avatars`` catalog
            datasets load them.
        avatar_ids: which avatars (e.g. the training split of the avatar index); all must be in
            ``avatars`` and rendered at one size.
        frame_splits: which frames of each avatar (``frontal``, ``train``, ``test``); ``None``:
            every frame.
        face_visible_degrees: views within this azimuth of the face show it.

    The node of the ``evaluate`` stage calls this with the training avatars to train the
    network on, and with held-out avatars' frontal views to report its accuracy.
    """
    images, labels, owners = [], [], []
    for position, avatar_id in enumerate(avatar_ids):
        avatar = avatars[avatar_id]()
        frames = [i for i, frame in enumerate(avatar.transforms.frames)
                  if frame_splits is None or frame.split in frame_splits]
        if not frames:
            continue
        cameras = torch.stack([avatar.transforms.frames[i].camera_to_world for i in frames])
        face_visible = face_visible_from_cameras(cameras, face_visible_degrees)
        images.append(rgb_views(avatar.images[frames]))
        labels.append(view_labels(avatar.attributes, face_visible))
        owners.append(torch.full((len(frames),), position, dtype=torch.long))
    if not images:
        raise ValueError(f"no views of the {frame_splits or 'any'} splits in the chosen avatars")
    sizes = {tuple(batch.shape[-2:]) for batch in images}
    if len(sizes) != 1:
        raise ValueError(f"views come in several sizes {sorted(sizes)}; use one render size")
    return LabelledViews(torch.cat(images), torch.cat(labels), torch.cat(owners))


def joined_views(parts: list[LabelledViews]) -> LabelledViews:
    """Several sets' labelled views as one, each set's avatar positions moved past the ones
    before it (so no two sets' avatars share a position)."""
    owners, start = [], 0
    for part in parts:
        owners.append(part.avatar + start)
        start += int(part.avatar.max()) + 1 if len(part.avatar) else 0
    return LabelledViews(torch.cat([part.images for part in parts]),
                         torch.cat([part.labels for part in parts]), torch.cat(owners))
