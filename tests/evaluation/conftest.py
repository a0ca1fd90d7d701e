"""Small shared inputs for the evaluation tests: a random domain CLIP and 24 smooth 32² pictures."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.models.clip_loader import DOMAIN_CLIP_VIT, ClipChoice, LoadedClip, load_clip

IMAGES = 24
SIZE = 32


@pytest.fixture(scope="session")
def clip() -> LoadedClip:
    torch.manual_seed(0)  # randomly initialised weights, the same in every run
    # The ViT variant: an untrained ResNet tower (batch norm at its initial statistics) maps
    # all images almost to one point, which no distance test can use.
    return load_clip(ClipChoice(DOMAIN_CLIP_VIT))


@pytest.fixture(scope="session")
def clip_features(clip: LoadedClip) -> ClipImageFeatures:
    return ClipImageFeatures(clip)


@pytest.fixture(scope="session")
def views() -> Tensor:
    """Straight RGBA ``(24, 32, 32, 4)``: random 4×4 colour/alpha fields, bilinearly enlarged."""
    coarse = torch.rand(IMAGES, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    return torch.nn.functional.interpolate(coarse, size=SIZE, mode="bilinear").permute(0, 2, 3, 1)

