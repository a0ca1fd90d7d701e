"""Paper-size diffusion training on one device through the stage's own node, on synthetic data.

Calls ``train_diffusion_model`` (what ``kedro run --env paper --pipeline diffusion`` runs for
``base`` and ``upsampler``) with the environment's parameters: mixed precision, channels-last,
the DDP strategy, gradient clipping, AdamW, EMA, the rendering loss through the shared decoder,
the progress gallery. Only the device count, the step count and the folders are overridden. The
data are synthetic, shaped like the paper's: random normalised tri-planes ``(3, C, R, R)``,
random latents ``(D,)`` and random pixels seen by cameras of the paper rig. Their losses mean
nothing; the check is that the CUDA path trains, stays finite, checkpoints, resumes, and how long
a step takes.

Each model trains ``--steps`` steps (progress gallery at the last one), then the node is called
again with twice the steps and must resume from ``last.ckpt`` (timed: seconds per step).

    python benchmarks/paper_training_check.py                       # paper sizes, needs a GPU
    python benchmarks/paper_training_check.py --env test --steps 2  # the same path, tiny, on CPU
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import torch

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.settings import load_parameters
from rodin_pipelines.training.diffusion_training import train_diffusion_model
from rodin_pipelines.rendering.camera_rig import CameraRig, sample_rig_cameras
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.training.checkpoints import LAST
from rodin_pipelines.training.triplane_diffusion_data import TriplaneExample
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit
from rodin_pipelines.triplane.supervision import FitTarget

ROOT = Path(__file__).resolve().parents[1]
LATENT_DIM = {"paper": 512}  # a ViT-B-32 image embedding at paper scale; else the domain CLIP's
DEFAULT_LATENT_DIM = 128


def synthetic_examples(params: dict, count: int, views: int, seed: int) -> list[TriplaneExample]:
    fit, render = params["fit"], params["render"]
    channels, resolution = fit["decoder"]["channels"], fit["resolution"]
    latent_dim = LATENT_DIM.get(params["_env"], DEFAULT_LATENT_DIM)
    size = render["views"]["image_size"]
    rig = CameraRig(**render["camera_rig"])
    generator = torch.Generator().manual_seed(seed)
    examples = []
    for index in range(count):
        cameras = Cameras(sample_rig_cameras(rig, views, seed + index), rig.fov_x, size, size)
        alpha = torch.rand(views, size * size, 1, generator=generator)
        colour = torch.rand(views, size * size, 3, generator=generator) * alpha
        examples.append(TriplaneExample(
            f"synthetic{index:03d}",
            torch.randn(3, channels, resolution, resolution, generator=generator),
            torch.nn.functional.normalize(torch.randn(latent_dim, generator=generator), dim=0),
            FitTarget(f"synthetic{index:03d}", torch.cat([colour, alpha], dim=-1), cameras,
                      None, None)))
    return examples


def model_settings(params: dict, name: str, steps: int, folder: Path, devices: int,
                   precision: str | None, gallery: bool) -> tuple[dict, dict]:
    diffusion = copy.deepcopy(params["diffusion"])
    model = diffusion[name]
    model["trainer"].update(max_steps=steps, devices=devices, checkpoint_every_n_steps=steps,
                            checkpoint_dir=str(folder / name / "checkpoints"), resume=LAST,
                            log_every_n_steps=1)
    if precision:
        model["trainer"]["precision"] = precision
    diffusion["gallery"].update(every_n_steps=steps if gallery else 0,
                                progress_folder=str(folder / "progress"))
    return model, diffusion


def checkpoint_step(folder: Path, name: str) -> int:
    state = torch.load(folder / name / "checkpoints" / f"{LAST}.ckpt", map_location="cpu",
                       weights_only=True)
    return int(state["global_step"])


def check_model(params: dict, name: str, steps: int, folder: Path, devices: int,
                precision: str | None) -> dict:
    examples = params["_examples"]
    channels = examples[0].planes.shape[1]
    statistics = PlaneStatistics(mean=torch.zeros(channels), std=torch.ones(channels))
    decoder = SharedDecoderFit(TriplaneDecoder(DecoderConfig(**params["fit"]["decoder"])), {})
    report: dict = {}
    for call, (total, gallery) in enumerate(((steps, True), (2 * steps, False))):
        model, diffusion = model_settings(params, name, total, folder, devices, precision,
                                          gallery)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        weights = train_diffusion_model(examples, statistics, decoder, model, diffusion,
                                        params["render"])
        seconds = time.perf_counter() - start
        finite = all(bool(torch.isfinite(w).all()) for w in weights.values())
        report[f"call{call + 1}"] = {
            "target_steps": total, "seconds": round(seconds, 2),
            "seconds_per_step": round(seconds / steps, 4),
            "checkpoint_step": checkpoint_step(folder, name),
            "ema_weights_finite": finite,
            "peak_gpu_memory_gib": (round(torch.cuda.max_memory_allocated() / 2**30, 2)
                                    if torch.cuda.is_available() else None)}
    report["resumed"] = report["call2"]["checkpoint_step"] == 2 * steps
    report["precision"] = model["trainer"]["precision"]
    report["batch_per_device"] = model["batch_size"]
    report["gallery_written"] = sorted(p.name for p in (folder / "progress" / name).glob("*.png"))
    print(name, report, flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="paper")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--avatars", type=int, default=8)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--precisions", default="",
                        help="comma-separated Lightning precisions to check besides the "
                             "environment's own, base model only (e.g. 16-mixed for V100s)")
    parser.add_argument("--models", default="base,upsampler")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/paper_training.json"))
    args = parser.parse_args()
    params = load_parameters(ROOT / "conf", args.env)
    params["_env"] = args.env
    params["_examples"] = synthetic_examples(params, args.avatars, args.views, seed=0)
    report: dict = {"env": args.env, "device": (torch.cuda.get_device_name()
                                                if torch.cuda.is_available() else "cpu"),
                    "torch": torch.__version__, "steps": args.steps}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models.split(","):
            report[name] = check_model(params, name, args.steps, Path(scratch) / "env",
                                       args.devices, None)
        for precision in filter(None, args.precisions.split(",")):
            report[f"base@{precision}"] = check_model(params, "base", args.steps,
                                                      Path(scratch) / precision, args.devices,
                                                      precision)
    report["all_resumed_and_finite"] = all(
        entry["resumed"] and entry["call2"]["ema_weights_finite"]
        for key, entry in report.items() if isinstance(entry, dict))
    atomic_write_json(Path(args.output), report)
    print("all resumed and finite:", report["all_resumed_and_finite"])
    if not report["all_resumed_and_finite"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
