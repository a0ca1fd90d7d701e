"""THE CLIP loader: open_clip models created offline, from a local checkpoint or our own config.

Two ways, chosen in config (architecture §1, method §4):

- an open_clip architecture (``ViT-B-32``...) with weights from a local checkpoint file the user
  names; nothing is downloaded;
- by default the small *domain CLIP* this project trains on its renders and captions, described
  by ``clip_configs/rodin-domain-clip.json`` and registered with ``open_clip.add_model_config``.

The tokenizer is open_clip's own BPE tokenizer, shipped inside the package (offline).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
from torch import nn

from rodin_pipelines.atomic_files import atomic_write_bytes
from rodin_pipelines.errors import InputDataError, UnsafeCheckpointError

CLIP_CONFIG_FOLDER = Path(__file__).parent / "clip_configs"
DOMAIN_CLIP = "rodin-domain-clip"
"""Name of the project's domain CLIP architecture (a small ResNet image tower and text transformer)."""
DOMAIN_CLIP_VIT = "rodin-domain-clip-vit"
"""The previous default: a small ViT (patch 8) image tower; registered beside it."""


@dataclass(frozen=True)
class ClipChoice:
    """Which CLIP to build.

    Attributes:
        architecture: an open_clip model name, or :data:`DOMAIN_CLIP`.
        checkpoint: a local weights file (``.pt``/``.bin``/``.safetensors``) to load, or ``None``
            for freshly initialised weights (to be trained here).
    """

    architecture: str = DOMAIN_CLIP
    checkpoint: str | None = None


@dataclass
class LoadedClip:
    """A CLIP model (eval mode), its tokenizer and its input image size."""

    model: nn.Module
    tokenizer: object
    image_size: int


def register_project_clip_configs() -> None:
    """Make :data:`DOMAIN_CLIP` known to open_clip (idempotent)."""
    if DOMAIN_CLIP not in open_clip.list_models():
        open_clip.add_model_config(CLIP_CONFIG_FOLDER)


def load_clip(choice: ClipChoice, device: str | torch.device = "cpu") -> LoadedClip:
    """Build the chosen CLIP without touching the network.

    Raises:
        InputDataError: the named checkpoint file does not exist.
        UnsafeCheckpointError: it holds pickled code (it is not loaded).
        ValueError: the architecture is unknown to open_clip.
    """
    register_project_clip_configs()
    if choice.architecture not in open_clip.list_models():
        raise ValueError(f"unknown CLIP architecture {choice.architecture!r}; choose one of "
                         f"open_clip.list_models() or {DOMAIN_CLIP!r}")
    if choice.checkpoint is not None and not Path(choice.checkpoint).is_file():
        raise InputDataError(choice.checkpoint, "CLIP checkpoint not found",
                             "point encoder.clip.checkpoint (in conf/local) at a local weights "
                             "file; nothing is downloaded")
    # pretrained=<local file> makes open_clip load that file; None leaves weights initialised.
    try:
        model = open_clip.create_model(choice.architecture, pretrained=choice.checkpoint,
                                       device=device, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError.from_unpickling(choice.checkpoint, error) from None
    model.eval()
    tokenizer = open_clip.get_tokenizer(choice.architecture)
    size = model.visual.image_size
    return LoadedClip(model, tokenizer, size[0] if isinstance(size, tuple) else int(size))


def save_clip_checkpoint(model: nn.Module, path: str | Path) -> None:
    """Write a CLIP's weights as a file :func:`load_clip` (and open_clip) can load, atomically
    (a reader or a kill never meets a half-written file)."""
    from safetensors.torch import save

    atomic_write_bytes(path, save({k: v.contiguous() for k, v in model.state_dict().items()}))


def load_trained_clip(weights: dict[str, torch.Tensor], architecture: str) -> LoadedClip:
    """The encoder stage's trained CLIP: the architecture built fresh, then its stored weights,
    in eval mode (every later stage embeds with it)."""
    clip = load_clip(ClipChoice(architecture=architecture))
    clip.model.load_state_dict(weights)
    clip.model.eval()
    return clip
