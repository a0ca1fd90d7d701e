"""Held-out accuracy of the independent attribute network at the default profile (issue 16).

    python benchmarks/attribute_network/measure.py [--raw data/01_raw] [--clip-set]
        [--steps N] [--seed S] [--set KEY=VALUE ...] [--frontal-only] [--one-network]
        [--cache DIR] [--threads N] [--out benchmarks/results/attribute_network.json]

Trains the judge as ``evaluate.attribute_network`` in conf/base configures it (its member
networks; ``--one-network``: a single network reading every attribute), on every view
of the main set's training avatars (``--clip-set``: and of the CLIP-only set's training
avatars), then scores it on views of avatars no training saw: the main set's held-out avatars
and the CLIP-only set's held-out avatars, frontal views and all views (face attributes counted
on views that show the face), sharp and blurred by a Gaussian of sigma 1 pixel (a stand-in for
the blur of volume renders). Run from the project root after ``dvc repro -s render``; reads the
avatar folders only. Results of one run are in this folder's README.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import torch
import yaml

from rodin_pipelines.avatars.folder import FRONTAL_SPLIT
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.evaluation.attribute_augmentation import gaussian_blurred
from rodin_pipelines.evaluation.attribute_judge import judge_members, train_attribute_judge
from rodin_pipelines.evaluation.attribute_network import (
    attribute_accuracy,
    predict_attributes,
    predict_avatar_attributes,
)
from rodin_pipelines.evaluation.attribute_views import (
    ATTRIBUTES,
    MASKED,
    attribute_classes,
    LabelledViews,
    joined_views,
    labelled_views,
)

CONF = Path("conf/base/parameters_evaluate.yml")
BLUR_SIGMA = 1.0
SETS = {"main": ("avatars", "avatar_index.csv"), "clip": ("clip_avatars", "clip_avatar_index.csv")}


def split_ids(raw: Path, name: str, split: str) -> tuple[dict, list[str]]:
    folder, index_file = SETS[name]
    readers = AvatarFolderDataset(str(raw / folder), progress=False).load()
    index = pd.read_csv(raw / index_file)
    return readers, [i for i in index.loc[index["split"] == split, "avatar_id"] if i in readers]


def views_of(raw: Path, name: str, split: str, frames: tuple[str, ...] | None, degrees: float,
             cache: Path | None = None) -> LabelledViews:
    """Labelled views of one set's split; ``cache``: keep them there between runs."""
    path = None if cache is None else cache / f"{name}-{split}-{frames}-{degrees}-v2.pt"
    if path is not None and path.is_file():
        return LabelledViews(*torch.load(path, weights_only=True))
    readers, ids = split_ids(raw, name, split)
    views = labelled_views(readers, ids, frames, degrees)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(tuple(views), path)
    return views


def confusions(predicted: dict[str, torch.Tensor], labels: torch.Tensor, top: int = 4) -> dict:
    """The most frequent (truth → predicted) mistakes of each attribute."""
    classes = attribute_classes()
    mistakes = {}
    for column, (name, guess) in enumerate(predicted.items()):
        truth = labels[:, column]
        wrong = (truth != MASKED) & (guess != truth)
        pairs = Counter(f"{classes[name][t]}->{classes[name][g]}"
                        for t, g in zip(truth[wrong].tolist(), guess[wrong].tolist()))
        mistakes[name] = dict(pairs.most_common(top))
    return mistakes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=Path("data/01_raw"))
    parser.add_argument("--clip-set", action="store_true",
                        help="also train on the CLIP-only set's training avatars")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of evaluate.attribute_network.training (YAML value)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one-network", action="store_true",
                        help="one network reads every attribute (the judge before members)")
    parser.add_argument("--frontal-only", action="store_true",
                        help="score frontal views only (skip all-view and per-avatar scores)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the decoded views in this folder between runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    block = yaml.safe_load(CONF.read_text())["evaluate"]["attribute_network"]
    overrides = {key: yaml.safe_load(value)
                 for key, value in (item.split("=", 1) for item in args.set)}
    if args.steps is not None:
        overrides["steps"] = args.steps
    members = judge_members({"training": {**block["training"], **overrides},
                             "members": None if args.one_network else block.get("members")})
    seed = block["seed"] if args.seed is None else args.seed
    degrees = block["face_visible_degrees"]

    started = time.perf_counter()
    train_sets = ["main", "clip"] if args.clip_set else ["main"]
    parts = [views_of(args.raw, name, "train", None, degrees, args.cache) for name in train_sets]
    images, labels, avatar = joined_views(parts)
    loading = time.perf_counter() - started
    started = time.perf_counter()
    network, logs = train_attribute_judge(images, labels, members, seed, avatar=avatar)
    training = time.perf_counter() - started
    report = {"training_views": len(images), "training_sets": train_sets,
              "overrides": overrides, "members": [m.attributes for m in members],
              "steps": members[0].settings.steps, "batch_size": members[0].settings.batch_size,
              "seed": seed,
              "loading_seconds": round(loading, 1), "training_seconds": round(training, 1),
              "final_loss": sum(sum(entry["loss"] for entry in log[-20:]) / min(20, len(log))
                                for log in logs),
              "accuracy": {}, "mistakes": {}}
    evaluations = {
        "main_train_frontal": ("main", "train", (FRONTAL_SPLIT,)),
        "main_heldout_frontal": ("main", "heldout", (FRONTAL_SPLIT,)),
        "main_heldout_all_views": ("main", "heldout", None),
        "clip_heldout_frontal": ("clip", "heldout", (FRONTAL_SPLIT,)),
        "clip_heldout_all_views": ("clip", "heldout", None),
    }
    if args.frontal_only:
        evaluations = {k: v for k, v in evaluations.items() if "frontal" in k}
    for key, (name, split, frames) in evaluations.items():
        if not (args.raw / SETS[name][1]).is_file():
            print(f"skipping {key}: no {SETS[name][1]} yet")
            continue
        test_images, test_labels, _ = views_of(args.raw, name, split, frames, degrees, args.cache)
        for suffix, shown in (("", test_images), ("_blurred", gaussian_blurred(
                test_images, torch.full((len(test_images),), BLUR_SIGMA)))):
            predicted = predict_attributes(network, shown)
            glasses_column = ATTRIBUTES.index("glasses")
            seen = test_labels[:, glasses_column] != MASKED
            report["accuracy"][key + suffix] = {
                "views": len(shown), **attribute_accuracy(predicted, test_labels),
                "glasses_presence": float(((predicted["glasses"][seen] > 0)
                                           == (test_labels[seen, glasses_column] > 0))
                                          .float().mean())}
            report["mistakes"][key + suffix] = confusions(predicted, test_labels)
    # One prediction per avatar from several views (mean log-probabilities), as the evaluate
    # stage renders each sample: the frontal view then held-out cameras.
    glasses = ATTRIBUTES.index("glasses")
    for key, (name, frames, views) in {} if args.frontal_only else {
            "main_heldout_per_avatar_frontal_and_4_test_views": ("main", (FRONTAL_SPLIT, "test"), 5),
            "clip_heldout_per_avatar_4_views": ("clip", None, 4)}.items():
        test_images, test_labels, _ = views_of(args.raw, name, "heldout", frames, degrees, args.cache)
        for suffix, shown in (("", test_images), ("_blurred", gaussian_blurred(
                test_images, torch.full((len(test_images),), BLUR_SIGMA)))):
            predicted = predict_avatar_attributes(network, shown, views,
                                                  test_labels[:, glasses] != MASKED)
            avatar_labels = test_labels.reshape(-1, views, len(ATTRIBUTES))[:, 0]  # frontal row
            report["accuracy"][key + suffix] = {
                "avatars": len(avatar_labels), **attribute_accuracy(predicted, avatar_labels)}
            report["mistakes"][key + suffix] = confusions(predicted, avatar_labels)
    print(json.dumps({k: v for k, v in report.items() if k != "mistakes"}, indent=1))
    for key, table in report["accuracy"].items():
        below = {a: round(v, 3) for a, v in table.items()
                 if a not in {"views", "avatars"} and v < 0.9}
        if below:
            print(f"{key}: below 0.9 {below}; mistakes {report['mistakes'][key]}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
