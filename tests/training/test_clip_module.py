"""The domain CLIP's training has the same non-finite guard as the diffusion models (a NaN step
is skipped, several in a row stop the run) and keeps its temperature in CLIP's range."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from rodin_pipelines.models.clip_loader import DOMAIN_CLIP
from rodin_pipelines.training.clip_module import DomainClipSystem
from rodin_pipelines.training.nonfinite import TrainingDivergedError
from rodin_pipelines.training.phrase_captions import attribute_codes, full_caption_assertion
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer


class PairsWithNaNImages(Dataset):
    """Items as ``AvatarCaptionPairs`` gives them (unknown attributes: each caption describes
    only its own image); the images of the items in ``poisoned`` are NaN."""

    def __init__(self, system: DomainClipSystem, items: int, poisoned: set[int]) -> None:
        self.tokens = system.tokenizer(["a person"])[0]
        self.size, self.items, self.poisoned = system.image_size, items, poisoned

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, index: int):
        image = torch.rand(3, self.size, self.size)
        if index in self.poisoned:
            image = torch.full_like(image, float("nan"))
        return (image, self.tokens, self.tokens, torch.tensor(False),
                attribute_codes(None, index), full_caption_assertion(None, index),
                torch.tensor(True))


def train(system: DomainClipSystem, poisoned: set[int], steps: int, tmp_path) -> None:
    settings = TrainerSettings(max_steps=steps, checkpoint_dir=str(tmp_path / "ckpt"),
                               checkpoint_every_n_steps=1000, resume=None)
    loader = DataLoader(PairsWithNaNImages(system, 2 * steps, poisoned), batch_size=2)
    build_trainer(settings, enable_progress_bar=False).fit(system, loader)


def test_a_nan_step_is_skipped_and_the_temperature_stays_in_range(tmp_path):
    torch.manual_seed(0)
    system = DomainClipSystem(DOMAIN_CLIP, learning_rate=1e-3)
    with torch.no_grad():
        system.clip.logit_scale.fill_(10.0)  # e^10 ~ 22000: far past CLIP's cap of 100
    train(system, poisoned={2}, steps=3, tmp_path=tmp_path)  # the second batch is NaN
    assert system.nonfinite.total == 1 and system.nonfinite.in_a_row == 0
    assert all(bool(torch.isfinite(p).all()) for p in system.parameters())
    assert 0.0 <= float(system.clip.logit_scale) <= math.log(100.0) + 1e-6


def test_nan_steps_in_a_row_stop_the_clip_training(tmp_path):
    torch.manual_seed(0)
    system = DomainClipSystem(DOMAIN_CLIP)
    with pytest.raises(TrainingDivergedError, match=r"5 steps in a row.*learning_rate"):
        train(system, poisoned=set(range(100)), steps=8, tmp_path=tmp_path)
