"""The upsampler alone on N training avatars: does it add detail to the true low-resolution
planes, and how many steps does that take? (issue 16)

    python benchmarks/generation/upsampler_alone.py [--avatars 8] [--set key=value ...]
        e.g. --set diffusion.upsampler.trainer.max_steps=1500

Trains only the upsampler (the diffusion stage's own training function, into a temporary
folder), then samples it from each avatar's true area-downsampled planes and reports the frontal
render PSNR against the fitted tri-plane beside plain bilinear upsampling of the same input, at
guidance 1.0 / 1.5 and 10 / 25 sampling steps, plus the relative MSE of the normalised planes.
Run from the project root after `kedro run --pipelines render,fit,encoder`; writes
benchmarks/results/upsampler_alone.json (or --out).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cascade_checks import apply_overrides, project_inputs  # noqa: E402
from project_catalog import benchmark_parser  # noqa: E402

from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_upsampler  # noqa: E402
from rodin_pipelines.diffusion.conditioning_augmentation import (  # noqa: E402
    downsample_rolled_out, upsampler_context)
from rodin_pipelines.diffusion.networks import load_denoiser  # noqa: E402
from rodin_pipelines.evaluation.cascade_checks import checked_diffusion_settings  # noqa: E402
from rodin_pipelines.evaluation.cascade_fidelity import frontal_psnr_per_avatar  # noqa: E402
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings  # noqa: E402
from rodin_pipelines.training.diffusion_training import (  # noqa: E402
    collect_triplane_examples, data_sizes, frontal_cameras, train_diffusion_model)
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet  # noqa: E402
from rodin_pipelines.triplane.layout import roll_in  # noqa: E402
from rodin_pipelines.triplane.normalisation import denormalise_planes  # noqa: E402


def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/upsampler_alone.json"))
    parser.add_argument("--avatars", type=int, default=8)
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    args = parser.parse_args()
    inputs = project_inputs(args.env)
    params = apply_overrides(inputs["params"], args.overrides)
    diffusion = {**params["diffusion"], "max_avatars": args.avatars}
    examples = collect_triplane_examples(inputs["triplanes"], inputs["avatar_embeddings"],
                                         inputs["avatar_index"], inputs["avatars"], diffusion)
    statistics, decoder = inputs["plane_statistics"], inputs["shared_decoder"]
    with tempfile.TemporaryDirectory() as workdir:
        diffusion = checked_diffusion_settings(diffusion, Path(workdir))
        start = time.perf_counter()
        weights = train_diffusion_model(examples, statistics, decoder, diffusion["upsampler"],
                                        diffusion, params["render"])
        seconds = time.perf_counter() - start
    sizes = data_sizes(examples)
    upsampler = load_denoiser(weights, diffusion["upsampler"], diffusion, sizes)
    low_resolution, resolution = diffusion["base_resolution"], sizes["fitted_resolution"]
    truth_rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(e.planes, statistics)
                                for e in examples])  # (N, C, R, 3R)
    low = downsample_rolled_out(truth_rolled, low_resolution)
    latents = torch.stack([e.latent.float() for e in examples])
    camera = frontal_cameras(params["render"], params["render"]["views"]["image_size"])
    render = VolumeRenderSettings(**diffusion["gallery"]["render"])
    truth = torch.stack([e.planes.float() for e in examples])

    def psnr(rolled: torch.Tensor) -> float:
        values = frontal_psnr_per_avatar(denormalise_planes(roll_in(rolled), statistics), truth,
                                         decoder.decoder, camera, render)
        return round(sum(values) / len(values), 2)

    def relative_mse(rolled: torch.Tensor) -> float:
        return round(float((rolled - truth_rolled).pow(2).mean() / truth_rolled.var()), 4)

    bilinear = upsampler_context(low, resolution)
    result = {"avatars": len(examples), "overrides": args.overrides, "train_seconds": seconds,
              "bilinear_psnr": psnr(bilinear), "bilinear_relative_mse": relative_mse(bilinear)}
    with torch.no_grad():
        for guidance in (1.0, 1.5):
            for steps in (10, 25):
                settings = SamplingSettings(**{**diffusion["sampling"], "upsampler_steps": steps,
                                               "guidance_scale": guidance})
                high = sample_upsampler(upsampler, low, latents, resolution, settings,
                                        torch.Generator().manual_seed(0))
                result[f"guidance_{guidance}_steps_{steps}_psnr"] = psnr(high)
                result[f"guidance_{guidance}_steps_{steps}_relative_mse"] = relative_mse(high)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
