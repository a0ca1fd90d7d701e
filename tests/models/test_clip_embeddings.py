"""Embeddings and the CLIP quality measures, against hand-made cases."""

import pytest
import torch

from rodin_pipelines.evaluation.clip_quality import retrieval_accuracy, zero_shot_accuracy
from rodin_pipelines.models.clip_loader import ClipChoice, load_clip
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views


def test_retrieval_accuracy_counts_matches_both_ways():
    images = torch.eye(3)
    texts = torch.eye(3)[[0, 2, 1]]  # texts 1 and 2 swapped
    scores = retrieval_accuracy(images, texts)
    assert scores["image_to_text_top1"] == pytest.approx(1 / 3)
    assert scores["text_to_image_top1"] == pytest.approx(1 / 3)
    assert retrieval_accuracy(images, torch.eye(3))["image_to_text_top1"] == 1.0


def test_zero_shot_accuracy_against_labels():
    classes = torch.eye(2)
    images = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    perfect = zero_shot_accuracy(images, ["red", "red", "blue"], classes, ["red", "blue"])
    assert perfect == {"accuracy": 1.0, "balanced_accuracy": 1.0}
    swapped = zero_shot_accuracy(images, ["blue", "red", "blue"], classes, ["red", "blue"])
    assert swapped["accuracy"] == pytest.approx(2 / 3)
    assert swapped["balanced_accuracy"] == pytest.approx((1 + 1 / 2) / 2)


def test_answering_the_commonest_class_scores_chance_in_balanced_accuracy():
    classes = torch.eye(3)
    images = torch.tensor([[1.0, 0.0, 0.0]]).repeat(10, 1)  # always "none"
    labels = ["none"] * 8 + ["cap", "beanie"]
    scores = zero_shot_accuracy(images, labels, classes, ["none", "cap", "beanie"])
    assert scores["accuracy"] == pytest.approx(0.8)
    assert scores["balanced_accuracy"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="no class prompt"):
        zero_shot_accuracy(images, ["green"] * 3, classes, ["red", "blue"])


def test_embeddings_are_unit_deterministic_and_reject_empty_prompts():
    clip = load_clip(ClipChoice())
    views = torch.rand(3, 32, 32, 4)
    first, second = embed_views(clip, views), embed_views(clip, views)
    assert torch.equal(first, second)
    assert torch.allclose(first.norm(dim=-1), torch.ones(3), atol=1e-5)
    texts = embed_texts(clip, ["a man with a beard", "a woman in a red shirt"])
    assert texts.shape == (2, first.shape[1])
    with pytest.raises(ValueError, match="empty prompt"):
        embed_texts(clip, ["  "])


def test_editing_with_strength_zero_is_the_identity_and_moves_towards_the_edit():
    from rodin_pipelines.models.latent_editing import edit, edit_direction

    clip = load_clip(ClipChoice())
    latent = embed_views(clip, torch.rand(1, 32, 32, 4))[0]
    source, target = "a man with short hair", "a man with short red hair"
    assert torch.equal(edit(clip, latent, source, target, 0.0), latent)
    direction = edit_direction(clip, source, target)
    edited = edit(clip, latent, source, target, 0.5)
    assert edited.norm().item() == pytest.approx(1.0, abs=1e-5)
    assert (edited @ direction) > (latent @ direction) + 0.1
    with pytest.raises(ValueError, match="nothing to edit"):
        edit_direction(clip, source, source)


def test_near_frontal_views_are_those_within_the_angles_of_the_face_but_the_frontal_one():
    from rodin_pipelines.avatars.folder import AvatarViews
    from rodin_pipelines.models.clip_embeddings import (embed_near_frontal_views,
                                                        near_frontal_indices)
    from rodin_pipelines.rendering.cameras import orbit_camera_to_world
    from rodin_pipelines.rendering.transforms_json import Frame, Transforms

    # (azimuth, elevation) in degrees; view 0 is frontal, 1 and 4 are near it, 2 too far round,
    # 3 too high, 5 behind
    angles = [(0, 0), (20, -10), (50, 0), (10, 40), (-30, 20), (180, 0)]
    matrices = orbit_camera_to_world(torch.deg2rad(torch.tensor([a for a, _ in angles])),
                                     torch.deg2rad(torch.tensor([e for _, e in angles])), 2.5)
    frames = tuple(Frame(f"images/{i:03d}", matrices[i], "frontal" if i == 0 else "train")
                   for i in range(len(angles)))
    avatar = AvatarViews("a", torch.rand(len(angles), 32, 32, 4), Transforms(0.7, frames))
    assert near_frontal_indices(avatar, 35.0, 25.0) == [1, 4]
    assert near_frontal_indices(avatar, 60.0, 45.0) == [1, 2, 3, 4]
    clip = load_clip(ClipChoice())
    near = embed_near_frontal_views({"a": lambda: avatar, "b": lambda: avatar}, clip, 35.0, 25.0)
    assert sorted(near) == ["a", "b"]
    assert torch.allclose(near["a"], embed_views(clip, avatar.images[[1, 4]]), atol=1e-6)
    assert embed_near_frontal_views({"a": lambda: avatar}, clip, 5.0, 5.0) == {}
