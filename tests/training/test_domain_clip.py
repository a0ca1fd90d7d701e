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
    renderer = TorchAvatarRenderer(grid_resolution=48, coarse_samples=24, fine_samples=8)
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
