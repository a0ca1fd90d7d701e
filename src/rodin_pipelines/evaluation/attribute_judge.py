"""The judge: one or more attribute networks, each reading the attributes it is built for.

Attributes differ in what a network needs to see them: colours and the hat are large regions
at known places (a cheap network with a position-keeping ``grid`` pooling reads them), while
glasses frames and a moustache are lines a pixel wide anywhere on a turned face (a full-
resolution stem and ``max`` pooling find them, at three times the cost). Trained together, the
second kind is learnt per avatar rather than as a cue (``benchmarks/attribute_network``), so the
judge trains a network per group (config ``evaluate.attribute_network.members``) and answers as
one: logits of every attribute, and the members' penultimate features side by side (the
attribute FID's feature space).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import Tensor, nn

from rodin_pipelines.atomic_files import atomic_write_bytes, atomic_write_json
from rodin_pipelines.evaluation.attribute_network import (
    AttributeNetwork,
    AttributeNetworkConfig,
    AttributeNetworkSettings,
    train_attribute_network,
)
from rodin_pipelines.evaluation.attribute_views import ATTRIBUTES, attribute_classes

WEIGHTS_FILE = "attribute_network.safetensors"
CONFIG_FILE = "attribute_network.json"


@dataclass(frozen=True)
class JudgeMember:
    """One network of the judge: the attributes it reads and how it is built and trained."""

    attributes: tuple[str, ...]
    settings: AttributeNetworkSettings


def judge_members(config: dict[str, Any]) -> list[JudgeMember]:
    """The block ``evaluate.attribute_network``: ``training`` (settings every member shares)
    and ``members`` (each ``{attributes: [...], <setting>: <override>, ...}``); without
    ``members``, one network reads every attribute. Every attribute is read by one member."""
    shared = config["training"]
    blocks = config.get("members") or [{"attributes": list(ATTRIBUTES)}]
    members = []
    for block in blocks:
        overrides = {k: v for k, v in block.items() if k != "attributes"}
        members.append(JudgeMember(tuple(block["attributes"]),
                                   AttributeNetworkSettings.from_config({**shared, **overrides})))
    read = [name for member in members for name in member.attributes]
    if sorted(read) != sorted(ATTRIBUTES):
        raise ValueError(f"evaluate.attribute_network.members must read each of {ATTRIBUTES} "
                         f"exactly once, got {read}")
    return members


class AttributeJudge(nn.Module):
    """Member networks as one: RGB ``(B, 3, H, W)`` in [0, 1] → logits ``{attribute: (B, K)}``
    in :data:`~rodin_pipelines.evaluation.attribute_views.ATTRIBUTES` order."""

    def __init__(self, members: list[AttributeNetwork]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        owned = {name for member in members for name in member.classes}
        self._order = tuple(name for name in ATTRIBUTES if name in owned)

    @property
    def classes(self) -> dict[str, tuple[str, ...]]:
        merged = {name: values for member in self.members
                  for name, values in member.classes.items()}
        return {name: merged[name] for name in self._order}

    def features(self, images: Tensor) -> Tensor:
        """The members' penultimate features side by side ``(B, sum F)``."""
        return torch.cat([member.features(images) for member in self.members], dim=1)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        logits = {name: scores for member in self.members
                  for name, scores in member(images).items()}
        return {name: logits[name] for name in self._order}


def train_attribute_judge(images: Tensor, labels: Tensor, members: list[JudgeMember], seed: int,
                          avatar: Tensor | None = None
                          ) -> tuple[AttributeJudge, list[list[dict[str, float]]]]:
    """Each member trained on views ``(N, 3, H, W)`` and its columns of labels ``(N, A)``
    (columns in :data:`~rodin_pipelines.evaluation.attribute_views.ATTRIBUTES` order), member
    ``i`` from ``seed + i``; ``avatar`` ``(N,)``: the avatar of each view. Returns the judge in
    eval mode and each member's training log."""
    classes = attribute_classes()
    networks, logs = [], []
    for index, member in enumerate(members):
        columns = [ATTRIBUTES.index(name) for name in member.attributes]
        network, log = train_attribute_network(
            images, labels[:, columns], member.settings, seed + index,
            classes={name: classes[name] for name in member.attributes}, avatar=avatar)
        networks.append(network)
        logs.append(log)
    return AttributeJudge(networks).eval(), logs


def save_attribute_judge(judge: AttributeJudge | AttributeNetwork, folder: str | Path) -> None:
    """Write :data:`WEIGHTS_FILE` (safetensors) and :data:`CONFIG_FILE` (JSON: each member's
    config) to ``folder``, each atomically; a lone network is saved as a one-member judge."""
    if isinstance(judge, AttributeNetwork):
        judge = AttributeJudge([judge])
    weights = {k: v.detach().contiguous().cpu() for k, v in judge.state_dict().items()}
    atomic_write_bytes(Path(folder) / WEIGHTS_FILE, save_safetensors_bytes(weights))
    atomic_write_json(Path(folder) / CONFIG_FILE,
                      {"members": [asdict(member.config) for member in judge.members]})


def load_attribute_judge(folder: str | Path) -> AttributeJudge:
    """The judge :func:`save_attribute_judge` wrote to ``folder``, in eval mode."""
    folder = Path(folder)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    weights = load_safetensors_bytes((folder / WEIGHTS_FILE).read_bytes())
    if "members" not in config:  # a lone network, as the judge was saved before it had members
        config = {"members": [config]}
        weights = {f"members.0.{key}": value for key, value in weights.items()}
    judge = AttributeJudge([AttributeNetwork(AttributeNetworkConfig(**member))
                            for member in config["members"]])
    judge.load_state_dict(weights)
    return judge.eval()


__all__ = ["AttributeJudge", "JudgeMember", "judge_members", "load_attribute_judge",
           "save_attribute_judge", "train_attribute_judge"]
