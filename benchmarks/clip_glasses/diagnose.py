"""Why the domain CLIP does not see glasses on unseen avatars (issue 4): three checks.

    python benchmarks/clip_glasses/diagnose.py eval-set OUT [--avatars 200]
        render fresh avatars (seeds 2,000,000+, frontal view + 1) to OUT/eval_set
    python benchmarks/clip_glasses/diagnose.py probe OUT CLIP.safetensors
        zero-shot glasses-vs-none and a linear probe on the CLIP's frontal embeddings,
        fitted on the main set's training avatars, scored on OUT/eval_set
    python benchmarks/clip_glasses/diagnose.py supervised OUT [--steps 2000]
        the CLIP's image tower trained from scratch on the glasses label alone (face views of
        the training avatars), scored on OUT/eval_set

Run from the project root after `dvc repro -s render` (reads data/01_raw/avatars). Results
of one run are in this folder's README.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import open_clip
import pandas as pd
import torch
import yaml
from safetensors.torch import load_file

from rodin_pipelines.avatars.procedural import ViewPlan, avatar_jobs, index_rows, plan_avatars
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.avatars.backends.selection import avatar_renderer
from rodin_pipelines.models.clip_embeddings import embed_texts, embed_views
from rodin_pipelines.models.clip_loader import register_project_clip_configs
from rodin_pipelines.models.clip_loader import load_trained_clip
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.cameras import azimuth_from_face
from rodin_pipelines.models.clip_preprocessing import Augmentation, clip_image_transform, over_background
from rodin_pipelines.training.phrase_captions import PRESENCE_PROMPTS

EVAL_SEED = 2_000_000
CONF = Path("conf/base")


def eval_plans(count: int) -> list:
    return plan_avatars(count, first_seed=EVAL_SEED, heldout_every=1, prefix="eval_avatar")


def render_eval_set(out: Path, count: int) -> None:
    render = yaml.safe_load((CONF / "parameters_render.yml").read_text())["render"]
    views = ViewPlan(views=1, image_size=render["views"]["image_size"], holdout_every=0)
    plans = eval_plans(count)
    AvatarFolderDataset(str(out / "eval_set")).save(avatar_jobs(
        plans, avatar_renderer(render), CameraRig(**render["camera_rig"]), views))
    pd.DataFrame(index_rows(plans, views)).to_csv(out / "eval_index.csv", index=False)


def frontal_images(folder: str, ids: list[str]) -> torch.Tensor:
    """Straight RGBA frontal views ``(N, H, W, 4)``."""
    avatars = AvatarFolderDataset(folder, progress=False).load()
    return torch.stack([(a := avatars[i]()).images[a.frontal_index()] for i in ids])


def glasses_labels(index: pd.DataFrame) -> torch.Tensor:
    return torch.tensor((index["glasses"] != "none").values)


def balanced(predicted: torch.Tensor, truth: torch.Tensor) -> float:
    right = (predicted == truth).float()
    return 0.5 * (right[truth].mean() + right[~truth].mean()).item()


def probe(out: Path, weights: Path) -> None:
    encoder = yaml.safe_load((CONF / "parameters_encoder.yml").read_text())["encoder"]
    clip = load_trained_clip(load_file(str(weights)), encoder["clip"]["architecture"])
    main = pd.read_csv("data/01_raw/avatar_index.csv")
    main = main[main["split"] == "train"]
    fresh = pd.read_csv(out / "eval_index.csv")
    train_x = embed_views(clip, frontal_images("data/01_raw/avatars", main["avatar_id"].tolist()))
    test_x = embed_views(clip, frontal_images(str(out / "eval_set"), fresh["avatar_id"].tolist()))
    train_y, test_y = glasses_labels(main), glasses_labels(fresh)
    prompts = embed_texts(clip, [PRESENCE_PROMPTS["glasses"][k] for k in ("absent", "present")])
    print("zero-shot glasses vs none, balanced:", balanced((test_x @ prompts.T).argmax(1) == 1,
                                                           test_y))
    weight = torch.zeros(train_x.shape[1], requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], max_iter=200)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            train_x @ weight + bias, train_y.float()) + 1e-3 * weight.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        print("linear probe, training avatars, plain:",
              ((train_x @ weight + bias > 0) == train_y).float().mean().item())
        print("linear probe, fresh avatars, balanced:", balanced(test_x @ weight + bias > 0, test_y))


def supervised(out: Path, steps: int, batch_size: int = 64) -> None:
    torch.manual_seed(0)
    register_project_clip_configs()
    encoder = yaml.safe_load((CONF / "parameters_encoder.yml").read_text())["encoder"]
    visual = open_clip.create_model(encoder["clip"]["architecture"], pretrained=None).visual
    size = visual.image_size if isinstance(visual.image_size, int) else visual.image_size[0]
    main = pd.read_csv("data/01_raw/avatar_index.csv").set_index("avatar_id")
    avatars = AvatarFolderDataset("data/01_raw/avatars", progress=False).load()
    images, labels = [], []
    for avatar_id in main.index[main["split"] == "train"]:
        avatar = avatars[avatar_id]()
        cameras = torch.stack([f.camera_to_world for f in avatar.transforms.frames])
        face = (azimuth_from_face(cameras).abs() <= 60).nonzero().squeeze(-1)
        images.append(avatar.images[face])
        labels += [float(main.loc[avatar_id, "glasses"] != "none")] * len(face)
    images, targets = torch.cat(images), torch.tensor(labels)
    augment, plain = clip_image_transform(size, Augmentation()), clip_image_transform(size, None)
    head = torch.nn.Linear(visual.output_dim, 1)
    optimiser = torch.optim.AdamW([*visual.parameters(), *head.parameters()], lr=3e-4)
    for step in range(steps):
        chosen = torch.randint(len(images), (batch_size,))
        batch = torch.stack([augment(over_background(images[i], torch.rand(3))) for i in chosen])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            head(visual(batch)).squeeze(-1), targets[chosen])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    fresh = pd.read_csv(out / "eval_index.csv")
    visual.eval()
    with torch.no_grad():
        views = frontal_images(str(out / "eval_set"), fresh["avatar_id"].tolist())
        logits = head(visual(torch.stack([plain(over_background(v, torch.ones(3)))
                                          for v in views]))).squeeze(-1)
    print("supervised glasses vs none, fresh avatars, balanced:",
          balanced(logits > 0, glasses_labels(fresh)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=("eval-set", "probe", "supervised"))
    parser.add_argument("out", type=Path)
    parser.add_argument("weights", type=Path, nargs="?")
    parser.add_argument("--avatars", type=int, default=200)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    if args.check == "eval-set":
        render_eval_set(args.out, args.avatars)
    elif args.check == "probe":
        probe(args.out, args.weights)
    else:
        supervised(args.out, args.steps)


if __name__ == "__main__":
    main()
