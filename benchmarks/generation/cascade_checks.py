"""Tell a bug from a lack of compute (issue 16): the cascade's conditional fidelity, split.

    python benchmarks/generation/cascade_checks.py memorise [--avatars 8] [--base-steps N]
        [--upsampler-steps M] [--set key=value ...]
        train base + upsampler on the first N training avatars; for each, a conditional
        cascade sample from its own e; frontal-render PSNR against its fitted tri-plane's
        render (pass: >= 25 dB for every avatar) and its own rank among the N by MSE.
    python benchmarks/generation/cascade_checks.py alone [--avatars 216] [--base-steps N] ...
        train both models on the training avatars; on the held-out avatars, measure each model
        alone: the base model given e (own rank among the held-out by MSE at the base
        resolution, PSNR of its bilinearly upsampled sample) and the upsampler given the true
        downsampled planes (PSNR against the fitted tri-plane).

Run from the project root with `--env ENV` after `kedro run --pipelines render,fit,encoder`
(reads the catalog's fitted tri-planes, plane statistics, decoder and CLIP embeddings). Models
are trained through the diffusion stage's own training function, into a temporary folder. The
results JSON goes to benchmarks/results/cascade_<mode>.json (or --out).
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_base, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import (downsample_rolled_out,
                                                                   upsampler_context)
from rodin_pipelines.evaluation.cascade_fidelity import (frontal_psnr_per_avatar,
                                                         own_rank_by_mse, top1)
from rodin_pipelines.diffusion.networks import load_denoiser
from rodin_pipelines.training.diffusion_training import (collect_triplane_examples, data_sizes,
                                                         frontal_cameras, train_diffusion_model)
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import denormalise_planes


def project_inputs(env: str) -> dict[str, Any]:
    bootstrap_project(Path.cwd())
    with KedroSession.create(env=env) as session:
        context = session.load_context()
        catalog = context.catalog
        names = ["triplanes", "avatar_embeddings", "avatar_index", "avatars", "plane_statistics",
                 "shared_decoder"]
        loaded = {name: catalog.load(name) for name in names}
        loaded["params"] = context.params
    return loaded


def apply_overrides(params: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``diffusion.base.diffusion.optimiser.lr=1e-3`` style overrides (YAML values)."""
    params = copy.deepcopy(params)
    for item in overrides:
        key, value = item.split("=", 1)
        *path, last = key.split(".")
        node = params
        for part in path:
            node = node[part]
        node[last] = yaml.safe_load(value)
    return params


def train_both(inputs: dict[str, Any], params: dict[str, Any], avatars: int | None,
               workdir: Path) -> tuple[list, dict[str, Any], dict[str, float]]:
    diffusion = copy.deepcopy(params["diffusion"])
    diffusion["max_avatars"] = avatars
    diffusion["gallery"]["every_n_steps"] = 0
    for name in ("base", "upsampler"):
        diffusion[name]["trainer"]["checkpoint_dir"] = str(workdir / name)
        diffusion[name]["trainer"]["resume"] = None
    examples = collect_triplane_examples(inputs["triplanes"], inputs["avatar_embeddings"],
                                         inputs["avatar_index"], inputs["avatars"], diffusion)
    timings, weights = {}, {}
    for name in ("base", "upsampler"):
        start = time.perf_counter()
        weights[name] = train_diffusion_model(examples, inputs["plane_statistics"],
                                              inputs["shared_decoder"], diffusion[name],
                                              diffusion, params["render"])
        timings[f"{name}_training_seconds"] = time.perf_counter() - start
    sizes = data_sizes(examples)
    models = {name: load_denoiser(weights[name], diffusion[name], diffusion, sizes)
              for name in ("base", "upsampler")}
    return examples, {"models": models, "diffusion": diffusion, "sizes": sizes}, timings


def measure(planes: list[torch.Tensor], latents: torch.Tensor, trained: dict[str, Any],
            inputs: dict[str, Any], params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Cascade, base-alone and upsampler-alone fidelity for avatars with fitted ``planes``."""
    diffusion, sizes, models = trained["diffusion"], trained["sizes"], trained["models"]
    statistics = inputs["plane_statistics"]
    settings = SamplingSettings(**diffusion["sampling"])
    r, big = diffusion["base_resolution"], sizes["fitted_resolution"]
    truth_rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(p, statistics)
                                for p in planes])
    truth_low = downsample_rolled_out(truth_rolled, r)
    generator = torch.Generator().manual_seed(seed)
    low = sample_base(models["base"], latents, len(planes), sizes["channels"], r, settings,
                      generator)
    high = sample_upsampler(models["upsampler"], low, latents, big, settings, generator)
    upsampled_truth = sample_upsampler(models["upsampler"], truth_low, latents, big, settings,
                                       generator)
    camera = frontal_cameras(params["render"], params["render"]["views"]["image_size"])
    render = VolumeRenderSettings(**diffusion["gallery"]["render"])
    decoder = inputs["shared_decoder"].decoder
    truth = torch.stack([p.float() for p in planes])

    def psnr(rolled: torch.Tensor) -> list[float]:
        return frontal_psnr_per_avatar(denormalise_planes(roll_in(rolled), statistics), truth,
                                       decoder, camera, render)

    own = torch.arange(len(planes))
    cascade_psnr = psnr(high)
    return {
        "avatars": len(planes),
        "cascade_frontal_psnr": cascade_psnr,
        "cascade_frontal_psnr_mean": sum(cascade_psnr) / len(cascade_psnr),
        "cascade_frontal_psnr_min": min(cascade_psnr),
        "cascade_own_top1_mse": top1(own_rank_by_mse(downsample_rolled_out(high, r), truth_low,
                                                     own)),
        "base_own_top1_mse": top1(own_rank_by_mse(low, truth_low, own)),
        "base_relative_mse": float((low - truth_low).pow(2).mean() / truth_low.var()),
        "base_alone_frontal_psnr_mean": float(torch.tensor(
            psnr(upsampler_context(low, big))).mean()),
        "truth_low_bilinear_frontal_psnr_mean": float(torch.tensor(
            psnr(upsampler_context(truth_low, big))).mean()),
        "upsampler_alone_frontal_psnr_mean": float(torch.tensor(psnr(upsampled_truth)).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["memorise", "alone"])
    parser.add_argument("--env", default="base")
    parser.add_argument("--avatars", type=int, default=None)
    parser.add_argument("--base-steps", type=int, default=None)
    parser.add_argument("--upsampler-steps", type=int, default=None)
    parser.add_argument("--heldout", type=int, default=24)
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    avatars = args.avatars if args.avatars is not None else (8 if args.mode == "memorise" else None)
    inputs = project_inputs(args.env)
    overrides = list(args.overrides)
    if args.base_steps:
        overrides.append(f"diffusion.base.trainer.max_steps={args.base_steps}")
    if args.upsampler_steps:
        overrides.append(f"diffusion.upsampler.trainer.max_steps={args.upsampler_steps}")
    params = apply_overrides(inputs["params"], overrides)
    with tempfile.TemporaryDirectory() as workdir:
        examples, trained, timings = train_both(inputs, params, avatars, Path(workdir))
    if args.mode == "memorise":
        planes = [e.planes for e in examples]
        latents = torch.stack([e.latent.float() for e in examples])
    else:
        index = inputs["avatar_index"]
        heldout = [i for i in index.loc[index["split"] == "heldout", "avatar_id"]
                   if i in inputs["triplanes"] and i in inputs["avatar_embeddings"]][:args.heldout]
        planes = [inputs["triplanes"][i]()[0] for i in heldout]
        latents = torch.stack([inputs["avatar_embeddings"][i][0].float() for i in heldout])
    start = time.perf_counter()
    result = measure(planes, latents, trained, inputs, params, args.seed)
    result.update(timings, mode=args.mode, training_avatars=len(examples),
                  overrides=overrides, sampling_seconds=time.perf_counter() - start)
    if args.mode == "memorise":
        result["passes_25db_each"] = result["cascade_frontal_psnr_min"] >= 25.0
    out = args.out or Path(f"benchmarks/results/cascade_{args.mode}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
