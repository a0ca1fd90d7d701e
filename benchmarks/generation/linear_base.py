"""How far is the base model from a linear map of e? (issue 16)

    python benchmarks/generation/linear_base.py [--env base] [--ridge 1 10 100] [--out FILE]

Run from the project root after `kedro run`. A closed-form ridge regression from the training
avatars' standardised frontal e to their normalised, rolled-out planes at the base resolution
(no diffusion, no training loop), applied to the 24 held-out avatars' e; each prediction is then
rendered two ways and scored by the evaluate stage's judge as `metrics/generation.json` scores
the conditional samples (agreement with the true attributes where they show):

- `ridge<λ>_bilinear`: the prediction upsampled bilinearly (compare judge_split's `base_bilinear`);
- `ridge<λ>_upsampled`: the trained upsampler given the prediction and e (compare `cascade`).

`rel_mse_low` is the prediction's mean squared error against the true low-resolution planes over
their variance. If the trained base model scores no better than these rows, it has learned about
the conditional mean of the planes given e, and the attributes that map does not hold (glasses)
need more than that. JSON to benchmarks/results/linear_base.json (or --out).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch import Tensor

from project_catalog import benchmark_parser, generation_models

from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import (downsample_rolled_out,
                                                                   upsampler_context)
from rodin_pipelines.evaluation.generation_benchmark import judged, with_judge
from rodin_pipelines.evaluation.generation_report import (agreement_with, frontal_camera_of,
                                                          heldout_avatars)
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import denormalise_planes

NAMES = ["triplanes", "avatar_embeddings", "avatar_index", "avatars", "attribute_judge"]


def ridge_predictions(train_e: Tensor, train_planes: Tensor, test_e: Tensor, ridge: float
                      ) -> Tensor:
    """Kernel-form ridge regression: ``(N, D)``, ``(N, P)``, ``(M, D)`` → ``(M, P)``, on e
    standardised by the training set's statistics."""
    mean, std = train_e.mean(0), train_e.std(0).clamp_min(1e-6)
    x, x_test = (train_e - mean) / std, (test_e - mean) / std
    centre = train_planes.mean(0)
    weights = torch.linalg.solve(x @ x.T + ridge * torch.eye(len(x)), train_planes - centre)
    return x_test @ x.T @ weights + centre


@torch.no_grad()
def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/linear_base.json"))
    parser.add_argument("--ridge", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    args = parser.parse_args()
    models, loaded, params = generation_models(args.env, NAMES)
    models = with_judge(models, loaded["attribute_judge"])
    started = time.perf_counter()
    diffusion, generation = params["diffusion"], params["evaluate"]["generation"]
    statistics, embeddings = models.plane_statistics, loaded["avatar_embeddings"]
    train_ids = split_ids(loaded["avatar_index"], "train", embeddings)
    heldout_ids = split_ids(loaded["avatar_index"], "heldout", embeddings)[:24]

    def low_planes(ids: list[str]) -> Tensor:  # (N, C, r, 3r), normalised
        rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(
            loaded["triplanes"][i]()[0].float(), statistics) for i in ids])
        return downsample_rolled_out(rolled, diffusion["base_resolution"])

    train_low, heldout_low = low_planes(train_ids), low_planes(heldout_ids)
    heldout = heldout_avatars(loaded["avatars"], heldout_ids, embeddings)
    latents = torch.stack([a.latent for a in heldout])  # (24, D)
    train_e = torch.stack([embeddings[i][0].float() for i in train_ids])
    camera = frontal_camera_of(loaded["avatars"][heldout_ids[0]])
    render = VolumeRenderSettings(**params["evaluate"]["render"])
    settings = SamplingSettings(**{**diffusion["sampling"], **generation["sampling"]})
    resolution = params["fit"]["resolution"]
    result: dict[str, object] = {"train_avatars": len(train_ids), "heldout_avatars": 24,
                                 "sampling": vars(settings)}
    for ridge in args.ridge:
        low = ridge_predictions(train_e, train_low.flatten(1), latents, ridge)
        low = low.reshape(-1, *train_low.shape[1:])
        relative = float(((low - heldout_low) ** 2).mean() / heldout_low.var())
        generator = torch.Generator().manual_seed(generation["seed"])
        variants = {"bilinear": upsampler_context(low, resolution),
                    "upsampled": sample_upsampler(models.upsampler, low, latents, resolution,
                                                  settings, generator)}
        for name, planes in variants.items():
            planes = denormalise_planes(roll_in(planes), statistics)
            row = agreement_with(heldout, judged(models, planes, camera, render).predicted)
            result[f"ridge{ridge:g}_{name}"] = {**row, "rel_mse_low": relative}
            print(f"ridge{ridge:g}_{name}", json.dumps(result[f"ridge{ridge:g}_{name}"]))
    result["seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
