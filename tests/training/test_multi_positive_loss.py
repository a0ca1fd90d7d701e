"""The multi-positive contrastive loss is open_clip's loss with one positive per row, and
spreads the target over every image a text describes."""

import pytest
import torch
from open_clip.loss import ClipLoss

from rodin_pipelines.training.multi_positive_loss import multi_positive_clip_loss


def unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


def test_with_one_positive_per_row_it_is_open_clips_loss() -> None:
    torch.manual_seed(0)
    images, texts, scale = unit(torch.randn(6, 16)), unit(torch.randn(6, 16)), torch.tensor(10.0)
    ours = multi_positive_clip_loss(images, texts, torch.eye(6, dtype=torch.bool), scale)
    assert ours.item() == pytest.approx(ClipLoss()(images, texts, scale).item(), rel=1e-6)


def test_a_text_true_of_two_images_is_drawn_between_them_not_to_one() -> None:
    """Text 0 describes images 0 and 1: with both as positives the loss prefers it halfway
    between them; with only its own image, on its own image."""
    images = torch.eye(3)
    on_own = torch.eye(3)
    halfway = on_own.clone()
    halfway[0] = unit(torch.tensor([1.0, 1.0, 0.0]))
    both = torch.eye(3, dtype=torch.bool)
    both[0, 1] = True
    one = torch.eye(3, dtype=torch.bool)
    scale = torch.tensor(10.0)

    def loss(texts: torch.Tensor, positives: torch.Tensor) -> float:
        return multi_positive_clip_loss(images, texts, positives, scale).item()

    assert loss(halfway, both) < loss(on_own, both)
    assert loss(on_own, one) < loss(halfway, one)


def test_a_text_that_does_not_describe_its_own_image_is_an_error() -> None:
    positives = torch.ones(2, 2, dtype=torch.bool)
    positives[1, 1] = False
    with pytest.raises(ValueError, match="its own image"):
        multi_positive_clip_loss(torch.eye(2), torch.eye(2), positives, torch.tensor(1.0))
