"""The independent attribute network: a small supervised CNN that scores avatars by attribute.

Generated avatars are scored with something the generator never trained against: a classifier
trained only on renders of training avatars with their ground-truth attributes
(:mod:`~rodin_pipelines.evaluation.attribute_views`), one head per attribute of
:data:`~rodin_pipelines.evaluation.attribute_views.ATTRIBUTES`. No generation path uses it.
Its accuracy on held-out real renders says whether its scores mean anything; its penultimate
features (:meth:`AttributeNetwork.features`) serve as a domain feature space for an FID.

Generated renders are volume renders of tri-planes, blurrier than the ground-truth renders, so
training perturbs images mildly (:mod:`~rodin_pipelines.evaluation.attribute_augmentation`).
Inputs are RGB ``(B, 3, H, W)`` in [0, 1] composited on
:data:`~rodin_pipelines.evaluation.attribute_views.BACKGROUND`, at the size it was trained at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from rodin_pipelines.evaluation.attribute_augmentation import AttributeAugmentation, augmented
from rodin_pipelines.evaluation.attribute_views import FACE_ATTRIBUTES, MASKED, attribute_classes

if TYPE_CHECKING:
    from rodin_pipelines.evaluation.attribute_judge import AttributeJudge

POOLED_SIZE = 4
"""``grid`` pooling: the last feature map is average-pooled to ``4 × 4`` and flattened, so the
features keep where things are (hair above the face, the shirt below) whatever the image size."""
POOLINGS = ("grid", "max")


@dataclass(frozen=True)
class AttributeNetworkConfig:
    """What builds the network, stored beside its weights.

    Attributes:
        classes: class names of each attribute, in head and label-column order.
        image_size: the square input size it is trained at (the render size).
        channels: convolution widths; the first at half resolution, each next one halves it.
        feature_dim: width of the penultimate features.
        dropout: dropout probability on the penultimate features while training (against
            memorising avatars); 0: none.
        stem_stride: stride of the first convolution: 2 halves the resolution at once (cheap),
            1 keeps it (3x the cost; lines a pixel wide, such as glasses frames, stay lines).
        pooling: how the last feature map becomes a vector: ``grid`` (average-pooled to
            :data:`POOLED_SIZE` squared and flattened: keeps where things are, hair above the
            shirt) or ``max`` (the strongest response anywhere: a small thing detected wherever
            the view puts it).
    """

    classes: dict[str, tuple[str, ...]]
    image_size: int
    channels: tuple[int, ...] = (16, 32, 64, 128)
    feature_dim: int = 128
    dropout: float = 0.0
    stem_stride: int = 2
    pooling: str = "grid"

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", {k: tuple(v) for k, v in self.classes.items()})
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")


@dataclass(frozen=True)
class AttributeNetworkSettings:
    """How to build and train it (config block ``evaluate.attribute_network.training``).

    Attributes:
        channels, feature_dim: as in :class:`AttributeNetworkConfig`.
        steps: optimisation steps; batch_size: views per step (drawn with replacement).
        learning_rate: AdamW peak rate (linear warm-up over the first 5% of steps, then cosine
            decay to zero); weight_decay: AdamW's.
        dropout, stem_stride, pooling: as in :class:`AttributeNetworkConfig`.
        class_balanced: weight each attribute's cross-entropy by inverse class frequency in the
            training labels (:func:`class_weights`), so rare classes (glasses, a beard, a hat)
            are not left at the majority-class plateau.
        avatar_balanced: draw each batch's views so every avatar is equally likely (then a view
            of it), instead of every view: the main set's 25 views an avatar would otherwise
            outweigh the CLIP-only set's 4, and the network sees fewer distinct avatars, which
            it learns to recognise instead of their attributes.
        augmentation: perturbations of training images; ``None``: none.
        progress: show a progress bar.
    """

    channels: tuple[int, ...] = (16, 32, 64, 128)
    feature_dim: int = 128
    steps: int = 400
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    dropout: float = 0.0
    stem_stride: int = 2
    pooling: str = "grid"
    class_balanced: bool = False
    avatar_balanced: bool = False
    augmentation: AttributeAugmentation | None = field(default_factory=AttributeAugmentation)
    progress: bool = True

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AttributeNetworkSettings:
        """The YAML block (lists → tuples; ``augmentation: null`` → none)."""
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        if values.get("augmentation") is not None:
            values["augmentation"] = AttributeAugmentation.from_config(values["augmentation"])
        return cls(**values)


def _conv(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class AttributeNetwork(nn.Module):
    """RGB ``(B, 3, H, W)`` in [0, 1] → logits ``{attribute: (B, classes)}``.

    A 3×3 convolution of stride ``config.stem_stride``, then per further width a stride-2 and
    a stride-1 convolution (batch norm, ReLU), pooled (``config.pooling``) and one linear layer
    with ReLU to the features ``(B, F)``; one linear head per attribute on them.
    """

    def __init__(self, config: AttributeNetworkConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.channels
        layers = [_conv(3, widths[0], config.stem_stride)]
        for narrow, wide in pairwise(widths):
            layers += [_conv(narrow, wide, 2), _conv(wide, wide, 1)]
        if config.pooling == "grid":
            pooled = [nn.AdaptiveAvgPool2d(POOLED_SIZE), nn.Flatten()]
            width = widths[-1] * POOLED_SIZE**2
        else:
            pooled, width = [nn.AdaptiveMaxPool2d(1), nn.Flatten()], widths[-1]
        self.trunk = nn.Sequential(*layers, *pooled, nn.Linear(width, config.feature_dim),
                                   nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(config.feature_dim, len(values))
                                    for name, values in config.classes.items()})

    @property
    def classes(self) -> dict[str, tuple[str, ...]]:
        """Class names of each attribute it scores, in head order."""
        return self.config.classes

    def features(self, images: Tensor) -> Tensor:
        """Penultimate features ``(B, F)``, ``F = config.feature_dim`` (non-negative)."""
        return self.trunk(images * 2.0 - 1.0)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        features = self.dropout(self.features(images))
        return {name: head(features) for name, head in self.heads.items()}


def class_weights(labels: Tensor, classes: dict[str, tuple[str, ...]]) -> dict[str, Tensor]:
    """Inverse-frequency weights ``{attribute: (K,)}`` of the unmasked labels ``(N, A)``:
    ``N_a / (K · n_k)`` (1 for a balanced attribute), an absent class weighted 0.

    Example: one attribute with 2 classes, labels ``[0, 0, 0, 1]`` → ``[2/3, 2]``.
    """
    weights = {}
    for column, (name, values) in enumerate(classes.items()):
        target = labels[:, column]
        counts = torch.bincount(target[target != MASKED], minlength=len(values)).float()
        present = counts > 0
        weights[name] = torch.where(
            present, counts.sum() / (int(present.sum()) * counts.clamp_min(1.0)), 0.0)
    return weights


def masked_losses(logits: dict[str, Tensor], labels: Tensor,
                  weights: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
    """Cross-entropy of each attribute over its unmasked labels ``(B, A)`` (attributes with
    none in the batch are left out); ``weights``: per-class weights of each attribute (a
    weighted mean, as ``torch.nn.functional.cross_entropy`` takes them), ``None``: equal."""
    losses = {}
    for column, (name, scores) in enumerate(logits.items()):
        target = labels[:, column]
        if bool((target != MASKED).any()):
            losses[name] = nn.functional.cross_entropy(
                scores, target, weight=None if weights is None else weights[name],
                ignore_index=MASKED)
    return losses


def view_sampling_weights(avatar: Tensor) -> Tensor:
    """``(N,)`` weights of views whose avatars are ``avatar`` ``(N,)`` long, each avatar's views
    summing to one (so every avatar is drawn equally often).

    Example: avatars ``[0, 0, 0, 0, 1]`` → ``[0.25, 0.25, 0.25, 0.25, 1.0]``.
    """
    return 1.0 / torch.bincount(avatar)[avatar].double()


def train_attribute_network(images: Tensor, labels: Tensor, settings: AttributeNetworkSettings,
                            seed: int, classes: dict[str, tuple[str, ...]] | None = None,
                            avatar: Tensor | None = None
                            ) -> tuple[AttributeNetwork, list[dict[str, float]]]:
    """Train a fresh network on views ``(N, 3, H, W)`` with labels ``(N, A)``; ``avatar``
    ``(N,)`` long: which avatar each view shows (needed when ``settings.avatar_balanced``).

    ``classes`` None: :func:`~rodin_pipelines.evaluation.attribute_views.attribute_classes`
    (label columns in its order). A pure function of its inputs and ``seed`` (global random
    state is untouched). Returns the network in eval mode and the log: per step, the summed
    loss and each attribute's.
    """
    classes = attribute_classes() if classes is None else classes
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be square RGB (N, 3, H, H), got {tuple(images.shape)}")
    if labels.shape != (len(images), len(classes)):
        raise ValueError(f"labels must be (N, A) = ({len(images)}, {len(classes)}), "
                         f"got {tuple(labels.shape)}")
    if settings.avatar_balanced and (avatar is None or avatar.shape != (len(images),)):
        raise ValueError("avatar_balanced sampling needs the avatar of each view, (N,) long")
    weights_of_views = view_sampling_weights(avatar) if settings.avatar_balanced else None
    generator = torch.Generator().manual_seed(seed)
    # Dropout draws from the global generator: seed it, and restore it afterwards.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = AttributeNetwork(AttributeNetworkConfig(
            classes, images.shape[-1], settings.channels, settings.feature_dim,
            settings.dropout, settings.stem_stride, settings.pooling))
        weights = class_weights(labels, classes) if settings.class_balanced else None
        optimiser = torch.optim.AdamW(network.parameters(), lr=settings.learning_rate,
                                      weight_decay=settings.weight_decay)
        warmup = max(1, settings.steps // 20)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(
            1.0, (step + 1) / warmup) * 0.5 * (1.0 + math.cos(math.pi * step / settings.steps)))
        network.train()
        log = []
        bar = tqdm(range(settings.steps), desc="attribute network",
                   disable=not settings.progress)
        for step in bar:
            if weights_of_views is None:
                chosen = torch.randint(len(images), (settings.batch_size,), generator=generator)
            else:
                chosen = torch.multinomial(weights_of_views, settings.batch_size,
                                           replacement=True, generator=generator)
            batch = images[chosen]
            if settings.augmentation is not None:
                batch = augmented(batch, settings.augmentation, generator)
            losses = masked_losses(network(batch), labels[chosen], weights)
            loss = torch.stack(list(losses.values())).sum()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            log.append({"step": float(step), "loss": float(loss.detach()),
                        **{f"loss_{name}": float(value.detach())
                           for name, value in losses.items()}})
            bar.set_postfix(loss=f"{log[-1]['loss']:.3f}", refresh=False)
    return network.eval(), log


@torch.no_grad()
def predict_attributes(network: AttributeNetwork | AttributeJudge, images: Tensor,
                       batch_size: int = 256) -> dict[str, Tensor]:
    """Predicted class indices ``{attribute: (B,) long}`` of RGB images ``(B, 3, H, W)``."""
    network.eval()
    logits = [network(images[start:start + batch_size])
              for start in range(0, len(images), batch_size)]
    return {name: torch.cat([chunk[name] for chunk in logits]).argmax(-1)
            for name in network.classes}


@torch.no_grad()
def predict_avatar_attributes(network: AttributeNetwork | AttributeJudge, images: Tensor,
                              views: int,
                              face_visible: Tensor | None = None, batch_size: int = 256
                              ) -> dict[str, Tensor]:
    """One prediction per avatar ``{attribute: (B,) long}`` from ``views`` consecutive views of
    each, ``(B·V, 3, H, W)``: the class of the highest mean log-probability over its views.

    A bun or a ponytail is seen from behind, glasses from the front: several views of an
    avatar say more than one. ``face_visible`` ``(B·V,)`` bool: face attributes
    (:data:`~rodin_pipelines.evaluation.attribute_views.FACE_ATTRIBUTES`) average only over
    views that show the face (the network never learnt them elsewhere); ``None``: all do.
    """
    network.eval()
    if len(images) % views:
        raise ValueError(f"{len(images)} images are not {views} views per avatar")
    logits = [network(images[start:start + batch_size])
              for start in range(0, len(images), batch_size)]
    shown = torch.ones(len(images), dtype=torch.bool) if face_visible is None else face_visible
    predictions = {}
    for name in network.classes:
        log_probabilities = torch.cat([chunk[name] for chunk in logits]).log_softmax(-1)
        weights = (shown if name in FACE_ATTRIBUTES else torch.ones_like(shown)).float()
        weights = weights.reshape(-1, views, 1)
        mean = (log_probabilities.reshape(-1, views, log_probabilities.shape[-1]) * weights
                ).sum(1) / weights.sum(1).clamp_min(1.0)
        predictions[name] = mean.argmax(-1)
    return predictions


@torch.no_grad()
def image_features(network: AttributeNetwork | AttributeJudge, images: Tensor,
                   batch_size: int = 256) -> Tensor:
    """Penultimate features ``(B, F)`` of RGB images ``(B, 3, H, W)``, in eval mode (for FID)."""
    network.eval()
    return torch.cat([network.features(images[start:start + batch_size])
                      for start in range(0, len(images), batch_size)])


def attribute_accuracy(predictions: dict[str, Tensor], labels: Tensor) -> dict[str, float]:
    """Share of correct predictions per attribute over the unmasked labels ``(B, A)`` (columns
    in the order of ``predictions``); an attribute with no unmasked label is left out.

    Example: predictions ``{"hat": [0, 1, 2]}``, labels ``[[0], [2], [MASKED]]`` → ``{"hat": 0.5}``.
    """
    accuracy = {}
    for column, (name, predicted) in enumerate(predictions.items()):
        valid = labels[:, column] != MASKED
        if bool(valid.any()):
            accuracy[name] = float((predicted[valid] == labels[valid, column]).float().mean())
    return accuracy
