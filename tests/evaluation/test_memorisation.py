"""Nearest training neighbours in CLIP space, and the picture that shows them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rodin_pipelines.evaluation.generative_metrics import rgba_to_rgb_batch
from rodin_pipelines.evaluation.memorisation import (
    TrainingNeighbour,
    memorisation_grid,
    memorisation_report,
    nearest_training_neighbours,
)


def test_hand_made_neighbours():
    neighbours = nearest_training_neighbours(torch.tensor([[1.0, 0.0], [1.0, 1.0]]),
                                             torch.tensor([[0.0, 1.0], [2.0, 0.0]]), ["a", "b"])
    assert neighbours[0] == TrainingNeighbour(0, "b", 0.0, 1.0)
    # (1, 1) is 45° from both: a tie at 1 − cos 45°.
    assert neighbours[1].distance == pytest.approx(1 - 2 ** -0.5)
    assert neighbours[1].second_distance == pytest.approx(1 - 2 ** -0.5)


def test_a_training_item_finds_itself_and_a_perturbed_one_does_not_match_exactly(clip_features,
                                                                                views):
    training = clip_features(rgba_to_rgb_batch(views))  # (24, 128)
    ids = [f"avatar-{index:02d}" for index in range(24)]
    # A nudge far smaller than the gaps between training items (a random CLIP puts them close).
    nudge = 0.001 * torch.randn(training.shape[1], generator=torch.Generator().manual_seed(2))
    generated = torch.stack([training[5], training[17] + nudge.double()])
    copied, perturbed = nearest_training_neighbours(generated, training, ids, chunk_size=1)
    assert copied.nearest_id == "avatar-05" and copied.distance < 1e-9  # measured 1e-16
    assert copied.second_distance > 1e-3  # measured 2.4e-3
    assert perturbed.generated_index == 1 and perturbed.nearest_id == "avatar-17"
    assert 1e-5 < perturbed.distance < perturbed.second_distance  # measured 5.8e-5 < 6.0e-4


def test_search_is_the_same_whatever_the_chunk_size():
    generator = torch.Generator().manual_seed(0)
    generated, training = torch.randn(7, 5, generator=generator), torch.randn(11, 5,
                                                                              generator=generator)
    ids = [str(index) for index in range(11)]
    assert nearest_training_neighbours(generated, training, ids, chunk_size=3) == \
        nearest_training_neighbours(generated, training, ids)


def test_search_rejects_a_single_training_item_and_mismatched_ids():
    with pytest.raises(ValueError, match="at least 2"):
        nearest_training_neighbours(torch.ones(1, 3), torch.ones(1, 3), ["a"])
    with pytest.raises(ValueError, match="2 training ids for 3"):
        nearest_training_neighbours(torch.ones(1, 3), torch.ones(3, 3), ["a", "b"])


def test_memorisation_grid_puts_each_sample_left_of_its_neighbour():
    generated = torch.zeros(3, 8, 8, 4)
    generated[..., 0] = generated[..., 3] = 1.0  # opaque red
    neighbours = torch.zeros(3, 8, 8, 4)
    neighbours[..., 2] = neighbours[..., 3] = 1.0  # opaque blue
    picture = memorisation_grid(generated, neighbours, scale=2)
    assert picture.dtype == np.uint8
    assert picture.shape == (3 * (16 + 4), 2 * (16 + 4), 3)
    assert picture[2 + 8, 2 + 8].tolist() == [255, 0, 0]  # row 0, left: the sample
    assert picture[2 + 8, 20 + 2 + 8].tolist() == [0, 0, 255]  # row 0, right: its neighbour
    assert picture[40 + 2, 20 + 2].tolist() == [0, 0, 255]  # row 2, right


def test_the_report_scores_every_sample_and_pictures_the_first_rows():
    frontal = torch.zeros(3, 4, 4, 4)
    frontal[..., 0] = frontal[..., 3] = 1.0  # opaque red samples
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    training = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    loaded = []

    def training_frontal(avatar_id: str) -> torch.Tensor:
        loaded.append(avatar_id)
        view = torch.zeros(4, 4, 4)
        view[..., 2] = view[..., 3] = 1.0  # opaque blue
        return view

    metrics, picture = memorisation_report(frontal, features, training, ["a", "b"],
                                           training_frontal, rows=2)
    assert metrics["memorisation_nearest_distance_min"] == pytest.approx(0.0)
    assert metrics["memorisation_nearest_distance_mean"] == pytest.approx((1 - 2 ** -0.5) / 3)
    assert loaded == ["a", "b"]  # only the shown neighbours are read
    assert picture.shape == (2 * (4 + 4), 2 * (4 + 4), 3)
