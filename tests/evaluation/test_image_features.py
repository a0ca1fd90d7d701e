"""Feature extractors for FID/KID: CLIP features equal embed_views, Inception never downloads."""

from __future__ import annotations

import sys

import pytest
import torch

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.evaluation.generative_metrics import rgba_to_rgb_batch
from rodin_pipelines.evaluation.image_features import (
    INCEPTION_WEIGHTS_KEY,
    ClipImageFeatures,
    inception_features,
)
from rodin_pipelines.models.clip_embeddings import embed_views


def test_clip_features_equal_embed_views_for_the_same_pictures(clip, clip_features, views):
    features = clip_features(rgba_to_rgb_batch(views))
    assert features.shape == (24, clip_features.num_features) == (24, 128)
    assert features.dtype == torch.float64
    # Same transform, same white background, same normalisation: identical numbers.
    assert torch.equal(features, embed_views(clip, views).double())
    assert torch.allclose(features.norm(dim=1), torch.ones(24, dtype=torch.float64), atol=1e-6)


def test_uint8_and_unit_float_inputs_give_the_same_features(clip_features, views):
    as_bytes = (rgba_to_rgb_batch(views) * 255).round().to(torch.uint8)
    from_bytes = clip_features(as_bytes)
    from_floats = clip_features(as_bytes.float() / 255)
    assert torch.equal(from_bytes, from_floats)


def test_clip_features_reject_wrong_layout_and_range(clip_features, views):
    with pytest.raises(ValueError, match="B, 3, H, W"):
        clip_features(views)  # RGBA (B, H, W, 4) must be composited first
    with pytest.raises(ValueError, match="as uint8"):
        clip_features(rgba_to_rgb_batch(views) * 255)  # 0..255 floats
    with pytest.raises(TypeError, match="uint8"):
        clip_features(torch.zeros(2, 3, 8, 8, dtype=torch.int32))


def test_clip_features_stay_in_eval_mode_inside_a_metric(clip):
    features = ClipImageFeatures(clip)
    features.train()
    assert not features.training and not features.model.training


def test_inception_needs_a_local_weights_file_named_by_its_config_key(tmp_path):
    with pytest.raises(InputDataError, match=INCEPTION_WEIGHTS_KEY.replace(".", r"\.")):
        inception_features(tmp_path / "missing.pth")


def test_inception_without_torch_fidelity_says_what_to_install(tmp_path, monkeypatch):
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"not read: the import fails first")
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r"torchmetrics\[image\]"):
        inception_features(weights)
