"""Sampler quality against network evaluations (NFE) with the trained default base model.

Unconditional samples of the base model (normalised low-resolution roll-outs) from ancestral
DDPM, DDIM and DPM-Solver++(2M) at 10/20/50/100 NFE, scored by a cheap distribution distance:
the Fréchet distance between Gaussians fitted to fixed random projections (to 32 dimensions) of
the samples and of the training roll-outs. The 100-step DDPM is the reference; a second DDPM-100
run with other noise measures the distance's own noise floor.

    kedro run --pipeline diffusion                 # first: train the default models
    python benchmarks/bench_sampler_quality.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.settings import load_parameters
from rodin_pipelines.diffusion.denoiser import Condition
from rodin_pipelines.diffusion.samplers import SamplerName, sample
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.diffusion.networks import load_denoiser
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.storage import load_triplane

ROOT = Path(__file__).resolve().parents[1]
PROJECTION_DIM = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--nfe", default="10,20,50,100")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/sampler_quality.json"))
    args = parser.parse_args()
    params = load_parameters(ROOT / "conf", "base")
    diffusion = params["diffusion"]
    statistics = PlaneStatistics.from_dict(
        load_file(ROOT / "data/06_models/plane_statistics.safetensors"))
    files = sorted((ROOT / "data/04_feature/triplanes").glob("*.safetensors"))
    training = torch.stack([TriplaneDiffusionSet.normalised_rolled(
        load_triplane(f)[0], statistics, diffusion["base_resolution"]) for f in files])
    channels = training.shape[1]
    weights = load_file(ROOT / "data/06_models/diffusion/base.safetensors")
    sizes = {"channels": channels, "fitted_resolution": params["fit"]["resolution"],
             "latent_dim": weights["latent_head.0.weight"].shape[1]
             if "latent_head.0.weight" in weights else 128}
    denoiser = load_denoiser(weights, diffusion["base"], diffusion, sizes)
    projection = torch.randn(training[0].numel(), PROJECTION_DIM,
                             generator=torch.Generator().manual_seed(0)) / training[0].numel() ** 0.5
    reference_features = training.flatten(1) @ projection
    shape = (args.samples, *training.shape[1:])
    report: dict = {"samples": args.samples, "training_set": len(training),
                    "projection_dim": PROJECTION_DIM, "results": {}}

    def distance(name: str, nfe: int, seed: int) -> float:
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(shape, generator=generator)
        start = time.perf_counter()
        samples = sample(name, denoiser.predictor(Condition()), denoiser.schedule, noise, nfe,
                         generator)
        seconds = time.perf_counter() - start
        value = frechet_distance(samples.flatten(1) @ projection, reference_features)
        report["results"][f"{name}@{nfe}" + ("" if seed == 0 else f"_seed{seed}")] = {
            "frechet_to_training": value, "seconds": seconds}
        print(name, nfe, seed, round(value, 4), f"{seconds:.1f}s", flush=True)
        return value

    reference = distance(SamplerName.DDPM, 100, 0)
    report["noise_floor_ddpm100_other_seed"] = distance(SamplerName.DDPM, 100, 1)
    for nfe in [int(n) for n in args.nfe.split(",")]:
        for name in SamplerName:
            if not (name is SamplerName.DDPM and nfe == 100):
                distance(name, nfe, 0)
    report["reference_ddpm100"] = reference
    atomic_write_json(Path(args.output), report)


if __name__ == "__main__":
    main()
