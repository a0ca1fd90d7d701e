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

import json
import math
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import Tensor, nn
from tqdm.auto import tqdm

from rodin_pipelines.atomic_files import atomic_write_bytes, atomic_write_json
from rodin_pipelines.evaluation.attribute_augmentation import AttributeAugmentation, augmented
from rodin_pipelines.evaluation.attribute_views import FACE_ATTRIBUTES, MASKED, attribute_classes

WEIGHTS_FILE = "attribute_network.safetensors"
CONFIG_FILE = "attribute_network.json"
POOLED_SIZE = 4
"""The last feature map is average-pooled to ``4 × 4`` and flattened, so the features keep
where things are (hair above the face, the shirt below) whatever the image size."""


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
    """

    classes: dict[str, tuple[str, ...]]
    image_size: int
    channels: tuple[int, ...] = (16, 32, 64, 128)
    feature_dim: int = 128
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", {k: tuple(v) for k, v in self.classes.items()})
        object.__setattr__(self, "channels", tuple(self.channels))


@dataclass(frozen=True)
class AttributeNetworkSettings:
    """How to build and train it (config block ``evaluate.attribute_network.training``).

    Attributes:
        channels, feature_dim: as in :class:`AttributeNetworkConfig`.
        steps: optimisation steps; batch_size: views per step (drawn with replacement).
        learning_rate: AdamW peak rate (linear warm-up over the first 5% of steps, then cosine
            decay to zero); weight_decay: AdamW's.
        dropout: as in :class:`AttributeNetworkConfig`.
        class_balanced: weight each attribute's cross-entropy by inverse class frequency in the
            training labels (:func:`class_weights`), so rare classes (glasses, a beard, a hat)
            are not left at the majority-class plateau.
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
    class_balanced: bool = False
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

    A stride-2 3×3 convolution (it still reads every pixel, so 1-pixel glasses frames count;
    at full resolution it tripled the cost of a step), then per further width a stride-2 and a
    stride-1 convolution (batch norm, ReLU), pooled to ``4 × 4``, flattened, and one linear layer with
    ReLU to the features ``(B, F)``; one linear head per attribute on them.
    """

    def __init__(self, config: AttributeNetworkConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.channels
        layers = [_conv(3, widths[0], 2)]
        for narrow, wide in pairwise(widths):
            layers += [_conv(narrow, wide, 2), _conv(wide, wide, 1)]
        self.trunk = nn.Sequential(
            *layers, nn.AdaptiveAvgPool2d(POOLED_SIZE), nn.Flatten(),
            nn.Linear(widths[-1] * POOLED_SIZE**2, config.feature_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(config.feature_dim, len(values))
                                    for name, values in config.classes.items()})

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


def train_attribute_network(images: Tensor, labels: Tensor, settings: AttributeNetworkSettings,
                            seed: int, classes: dict[str, tuple[str, ...]] | None = None
                            ) -> tuple[AttributeNetwork, list[dict[str, float]]]:
    """Train a fresh network on views ``(N, 3, H, W)`` with labels ``(N, A)``.

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
    generator = torch.Generator().manual_seed(seed)
    # Dropout draws from the global generator: seed it, and restore it afterwards.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = AttributeNetwork(AttributeNetworkConfig(
            classes, images.shape[-1], settings.channels, settings.feature_dim,
            settings.dropout))
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
            chosen = torch.randint(len(images), (settings.batch_size,), generator=generator)
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
def predict_attributes(network: AttributeNetwork, images: Tensor, batch_size: int = 256
                       ) -> dict[str, Tensor]:
    """Predicted class indices ``{attribute: (B,) long}`` of RGB images ``(B, 3, H, W)``."""
    network.eval()
    logits = [network(images[start:start + batch_size])
              for start in range(0, len(images), batch_size)]
    return {name: torch.cat([chunk[name] for chunk in logits]).argmax(-1)
            for name in network.config.classes}


@torch.no_grad()
def predict_avatar_attributes(network: AttributeNetwork, images: Tensor, views: int,
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
    for name in network.config.classes:
        log_probabilities = torch.cat([chunk[name] for chunk in logits]).log_softmax(-1)
        weights = (shown if name in FACE_ATTRIBUTES else torch.ones_like(shown)).float()
        weights = weights.reshape(-1, views, 1)
        mean = (log_probabilities.reshape(-1, views, log_probabilities.shape[-1]) * weights
                ).sum(1) / weights.sum(1).clamp_min(1.0)
        predictions[name] = mean.argmax(-1)
    return predictions


@torch.no_grad()
def image_features(network: AttributeNetwork, images: Tensor, batch_size: int = 256) -> Tensor:
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


def attribute_network_state(network: AttributeNetwork) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Its weights (for a safetensors file) and its config as JSON-safe data."""
    weights = {k: v.detach().contiguous().cpu() for k, v in network.state_dict().items()}
    return weights, asdict(network.config)


def attribute_network_from_state(weights: dict[str, Tensor], config: dict[str, Any]
                                 ) -> AttributeNetwork:
    """Inverse of :func:`attribute_network_state`; the network in eval mode."""
    network = AttributeNetwork(AttributeNetworkConfig(**config))
    network.load_state_dict(weights)
    return network.eval()


def save_attribute_network(network: AttributeNetwork, folder: str | Path) -> None:
    """Write :data:`WEIGHTS_FILE` (safetensors) and :data:`CONFIG_FILE` (JSON) to ``folder``,
    each atomically."""
    weights, config = attribute_network_state(network)
    atomic_write_bytes(Path(folder) / WEIGHTS_FILE, save_safetensors_bytes(weights))
    atomic_write_json(Path(folder) / CONFIG_FILE, config)


def load_attribute_network(folder: str | Path) -> AttributeNetwork:
    """The network :func:`save_attribute_network` wrote to ``folder``, in eval mode."""
    folder = Path(folder)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    return attribute_network_from_state(
        load_safetensors_bytes((folder / WEIGHTS_FILE).read_bytes()), config)
