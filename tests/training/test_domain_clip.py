"""The domain CLIP learns to match renders and captions (open_clip's contrastive loss)."""

import pytest
import torch

from rodin_pipelines.avatars.backends.torch_renderer import TorchAvatarRenderer
from rodin_pipelines.avatars.procedural import ViewPlan, avatar_jobs, plan_avatars
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.models.clip_loader import DOMAIN_CLIP, ClipChoice, load_clip
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.training.clip_data import AvatarCaptionPairs
from rodin_pipelines.training.clip_module import DomainClipSystem
from rodin_pipelines.training.step_loader import step_loader
from rodin_pipelines.training.trainer_factory import TrainerSettings, build_trainer

AVATARS = 8


@pytest.fixture(scope="module")
def avatars(tmp_path_factory):
    root = tmp_path_factory.mktemp("avatars")
    renderer = TorchAvatarRenderer(scene={"grid_resolution": 48}, coarse_samples=24, fine_samples=8)
    jobs = avatar_jobs(plan_avatars(AVATARS, 100, 0), renderer, CameraRig(),
                       ViewPlan(views=4, image_size=32, holdout_every=0, paraphrases=2))
    dataset = AvatarFolderDataset(str(root), progress=False)
    dataset.save(jobs)
    return dataset.load()


@torch.no_grad()
def caption_accuracy(clip, dataset: AvatarCaptionPairs) -> float:
    """Share of avatars whose own caption scores highest among all avatars' captions."""
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    tokens = clip.tokenizer([a.captions[0] for a in dataset.avatars])
    similarity = clip.model.encode_image(images, normalize=True) @ \
        clip.model.encode_text(tokens, normalize=True).T
    return (similarity.argmax(dim=1) == torch.arange(len(dataset))).float().mean().item()


def test_domain_clip_ranks_the_true_caption_first_after_a_short_run(avatars, tmp_path):
    clip = load_clip(ClipChoice(DOMAIN_CLIP))
    evaluation = AvatarCaptionPairs(avatars, clip.tokenizer, clip.image_size, augmentation=None)
    torch.manual_seed(0)
    system = DomainClipSystem(DOMAIN_CLIP, learning_rate=3e-4)
    before = caption_accuracy(load_clip(ClipChoice(DOMAIN_CLIP)), evaluation)
    training = AvatarCaptionPairs(avatars, clip.tokenizer, clip.image_size)
    settings = TrainerSettings(max_steps=600, checkpoint_dir=str(tmp_path / "ckpt"),
                               checkpoint_every_n_steps=1000, resume=None)
    trainer = build_trainer(settings, enable_progress_bar=False)
    trainer.fit(system, step_loader(training, AVATARS, settings.max_steps))
    clip.model.load_state_dict(system.clip.state_dict())
    clip.model.eval()
    after = caption_accuracy(clip, evaluation)
    print(f"caption top-1 over {AVATARS} avatars: {before:.2f} -> {after:.2f}")
    assert after >= 0.625 and after > before + 0.3


def test_attribute_heads_count_face_attributes_only_on_views_of_the_face():
    from rodin_pipelines.training.attribute_pretraining import (
        AttributeHeads,
        class_counts_by_attribute,
    )
    from rodin_pipelines.training.phrase_captions import CONSTRAINED_ATTRIBUTES, UNKNOWN

    counts = class_counts_by_attribute()
    assert counts["glasses"] == 3 and counts["hat"] == 4 and counts["has_glasses"] == 2
    heads = AttributeHeads(8, ["glasses", "hat"])
    with torch.no_grad():  # every head answers class 1, whatever it sees
        for head in heads.heads:
            head.weight.zero_()
            head.bias.zero_()
            head.bias[1] = 1.0
    features = torch.randn(4, 8)
    glasses = CONSTRAINED_ATTRIBUTES.index("glasses")
    codes = torch.ones(4, len(CONSTRAINED_ATTRIBUTES), dtype=torch.long)
    codes[1:3, glasses] = 2  # wrong answers, on views without the face: they must not count
    codes[3] = UNKNOWN  # an imported avatar: no labels
    face_visible = torch.tensor([True, False, False, True])
    _, accuracy = heads.loss(features, codes, face_visible)
    assert set(accuracy) == {"glasses", "hat"}
    assert float(accuracy["glasses"]) == 1.0  # item 0 alone
    assert float(accuracy["hat"]) == 1.0  # items 0-2: hats show from any side
    _, accuracy = heads.loss(features, codes, torch.zeros(4, dtype=torch.bool))
    assert set(accuracy) == {"hat"}  # no view shows a face: glasses are not labelled at all
    with pytest.raises(ValueError, match="not categorical"):
        from rodin_pipelines.training.attribute_pretraining import AttributePretraining

        AttributePretraining(steps=1, attributes=("head_width",))


def test_attribute_pretraining_trains_the_image_tower_first_then_the_contrastive_loss(
        avatars, tmp_path):
    import pytorch_lightning as pl

    clip = load_clip(ClipChoice(DOMAIN_CLIP))
    torch.manual_seed(0)
    system = DomainClipSystem(DOMAIN_CLIP, learning_rate=1e-3, attribute_pretraining_steps=80,
                              pretraining_attributes=("glasses", "hat", "clothing_colour"))
    text_before = system.clip.token_embedding.weight.detach().clone()
    visual_before = [p.detach().clone() for p in system.clip.visual.parameters()]
    training = AvatarCaptionPairs(avatars, clip.tokenizer, clip.image_size)
    seen = {"losses": []}

    class AtTheSwitch(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_index):
            seen["losses"].append(float(outputs["loss"]))
            if trainer.global_step == 80:  # after the 80th optimiser step
                seen["text"] = module.clip.token_embedding.weight.detach().clone()

    settings = TrainerSettings(max_steps=86, checkpoint_dir=str(tmp_path / "ckpt"),
                               checkpoint_every_n_steps=1000, resume=None)
    trainer = build_trainer(settings, enable_progress_bar=False, callbacks=[AtTheSwitch()])
    trainer.fit(system, step_loader(training, AVATARS, settings.max_steps))
    assert torch.equal(seen["text"], text_before)  # the text tower waited for the switch
    attribute_losses = seen["losses"][:80]
    print("attribute loss:", [round(x, 2) for x in attribute_losses])
    assert sum(attribute_losses[-10:]) / 10 < 0.5 * sum(attribute_losses[:10]) / 10
    assert not torch.equal(system.clip.token_embedding.weight, text_before)
    assert any(not torch.equal(p, q) for p, q in zip(system.clip.visual.parameters(),
                                                     visual_before))
    assert "clip/contrastive_loss" in trainer.callback_metrics
