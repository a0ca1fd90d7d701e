"""CLIP creation is offline: the domain config, or any architecture with a local checkpoint."""

import json
import socket

import open_clip
import pytest
import torch

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.models.clip_loader import (
    DOMAIN_CLIP,
    ClipChoice,
    load_clip,
    save_clip_checkpoint,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("CLIP loading tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_domain_clip_is_built_offline_and_embeds_images_and_text():
    clip = load_clip(ClipChoice())
    images = torch.rand(2, 3, clip.image_size, clip.image_size)
    tokens = clip.tokenizer(["a smiling man with short red hair", "a bald woman"])
    with torch.no_grad():
        image_embedding = clip.model.encode_image(images)
        text_embedding = clip.model.encode_text(tokens)
    assert image_embedding.shape == text_embedding.shape == (2, 128)
    assert DOMAIN_CLIP in open_clip.list_models()


def test_any_architecture_loads_a_local_checkpoint(tmp_path):
    config = {"embed_dim": 32,
              "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
              "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2,
                           "layers": 1}}
    (tmp_path / "tiny-test-clip.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "tiny-test-clip.json")
    trained = load_clip(ClipChoice("tiny-test-clip"))
    with torch.no_grad():
        for parameter in trained.model.parameters():
            parameter.add_(0.01)
    checkpoint = tmp_path / "weights.safetensors"
    save_clip_checkpoint(trained.model, checkpoint)
    loaded = load_clip(ClipChoice("tiny-test-clip", str(checkpoint)))
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded.model.encode_image(image), trained.model.encode_image(image))
    fresh = load_clip(ClipChoice("tiny-test-clip"))
    with torch.no_grad():
        assert not torch.equal(fresh.model.encode_image(image), loaded.model.encode_image(image))


def test_missing_checkpoint_and_unknown_architecture_are_clear_errors(tmp_path):
    with pytest.raises(InputDataError, match="CLIP checkpoint not found"):
        load_clip(ClipChoice(DOMAIN_CLIP, str(tmp_path / "absent.pt")))
    with pytest.raises(ValueError, match="unknown CLIP architecture"):
        load_clip(ClipChoice("no-such-clip"))
