"""What random scaling costs on clean tri-planes and buys on rescaled ones (RODIN §2).

Two shared decoders are fitted in phase 1 on the same avatars, one with random scaling (planes
decoded through a lower resolution part of the time) and one without. Each then fits phase-2
tri-planes of the same other avatars, scored on held-out views twice: clean, and after the
planes went down to the low resolution and back up (what an upsampler's imperfect output looks
like). Run from the project root after ``kedro run --pipeline render``::

    python benchmarks/random_scaling.py --phase1-avatars 8 --eval-avatars 4

Writes ``benchmarks/results/random_scaling.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from rodin_pipelines.avatars.folder import TEST_SPLIT, read_avatar_folder
from rodin_pipelines.avatars.scene import SceneSettings
from rodin_pipelines.evaluation.fit_report import render_planes
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import DecoderConfig
from rodin_pipelines.triplane.fitting import (
    FitSettings,
    fit_decoder_jointly,
    fit_planes,
    mean_planes,
)
from rodin_pipelines.triplane.rescale import down_up_sample
from rodin_pipelines.training.fit_targets import load_fit_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--avatars-root", default="data/01_raw/avatars")
    parser.add_argument("--phase1-avatars", type=int, default=8)
    parser.add_argument("--eval-avatars", type=int, default=4)
    parser.add_argument("--phase1-steps", type=int, default=400)
    parser.add_argument("--phase2-steps", type=int, default=200)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--low-resolution", type=int, default=16)
    parser.add_argument("--probability", type=float, default=0.25)
    parser.add_argument("--output", default="benchmarks/results/random_scaling.json")
    arguments = parser.parse_args()

    root = Path(arguments.avatars_root)
    folders = sorted(p for p in root.iterdir() if (p / "meta.json").is_file())
    phase1 = folders[: arguments.phase1_avatars]
    held_out = folders[arguments.phase1_avatars: arguments.phase1_avatars + arguments.eval_avatars]
    scene = SceneSettings(grid_resolution=96)
    base = FitSettings(resolution=arguments.resolution, channels=16, rays_per_step=256,
                       points_per_step=4096, rescale_resolution=arguments.low_resolution,
                       render=VolumeRenderSettings(coarse_samples=24, fine_samples=8,
                                                   jitter=True))
    evaluation = VolumeRenderSettings(coarse_samples=48, fine_samples=32)
    targets = [load_fit_target(str(folder), scene) for folder in phase1]
    results = {}
    for name, probability in (("with_random_scaling", arguments.probability),
                              ("without_random_scaling", 0.0)):
        started = time.perf_counter()
        decoder, planes = fit_decoder_jointly(
            targets, DecoderConfig(channels=16, hidden=32),
            replace(base, rescale_probability=probability), arguments.phase1_steps,
            avatars_per_step=4, seed=0)
        start = mean_planes(list(planes.values()))
        clean, rescaled = [], []
        for number, folder in enumerate(held_out):
            avatar = read_avatar_folder(folder)
            fitted = fit_planes([load_fit_target(str(folder), scene)], decoder,
                                replace(base, rescale_probability=0.0, plane_learning_rate=0.08),
                                arguments.phase2_steps, seed=number, start=start)[0]
            views = avatar.split_indices(TEST_SPLIT)
            truth = avatar.images[views]
            clean.append(view_psnr(render_planes(fitted, decoder, avatar, views, evaluation),
                                   truth))
            degraded = down_up_sample(fitted, arguments.low_resolution)
            rescaled.append(view_psnr(render_planes(degraded, decoder, avatar, views,
                                                    evaluation), truth))
        results[name] = {
            "psnr_clean": sum(clean) / len(clean),
            "psnr_rescaled": sum(rescaled) / len(rescaled),
            "seconds": time.perf_counter() - started,
        }
        print(name, {k: round(v, 2) for k, v in results[name].items()}, flush=True)
    results["settings"] = vars(arguments)
    results["cost_on_clean_db"] = (results["without_random_scaling"]["psnr_clean"]
                                   - results["with_random_scaling"]["psnr_clean"])
    results["gain_on_rescaled_db"] = (results["with_random_scaling"]["psnr_rescaled"]
                                      - results["without_random_scaling"]["psnr_rescaled"])
    Path(arguments.output).parent.mkdir(parents=True, exist_ok=True)
    Path(arguments.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"random scaling costs {results['cost_on_clean_db']:.2f} dB on clean planes and "
          f"buys {results['gain_on_rescaled_db']:.2f} dB on planes through "
          f"{arguments.low_resolution}²")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
