"""What 100,000 avatars cost at the paper profile: wall time and GPU-hours per stage on 8, 32
and 64 GPUs, from per-GPU throughputs measured on the device and the paper profile's sizes
(issue 19).

    python benchmarks/planning_table.py [--gpus 8 32 64] [--out FILE]

Reads `conf/paper` (through the project's parameter loader) and the device results under
`benchmarks/results/gpu/`: `diffusion_training.json` (paper-size base and upsampler training
samples/s, `bench_diffusion_training.py --time-paper`) and `triplane_renderer_cuda.json`
(tri-plane rays/s at paper-size planes, `bench_triplane_renderer.py --device cuda`). Every row
says which measured figure it rests on and what is assumed; rows with no measured figure say so
and are left out of the totals. Prints a Markdown table and writes JSON to
`benchmarks/results/planning_table.json` (or --out).

Assumptions (stated, not measured):
- per-avatar stages (render, fit) shard avatars across GPUs with no communication: efficiency 1;
- DDP training keeps the paper's total training samples (steps x global batch at 8 GPUs) and
  scales steps down as GPUs are added, at a data-parallel efficiency of 0.9 within one 8-GPU node
  and 0.8 across nodes (gradient all-reduce over the network; not measured here);
- sampling runs at the sustained TFLOP/s of paper-size training on the same GPU (forward FLOPs
  taken as a third of forward + backward, the usual rule), with classifier-free guidance doubling
  each step.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.settings import load_parameters

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
AVATARS = 100_000
REFERENCE_GPUS = 8                # the paper profile's global batch is per-GPU batch x 8
SAMPLES_PER_RAY_MEASURED = 64     # the renderer benchmark decodes 64 samples per ray
FORWARD_SHARE_OF_TRAINING = 1 / 3  # forward FLOPs ~ a third of forward + backward


def ddp_efficiency(gpus: int) -> float:
    """Assumed data-parallel efficiency: one NVLink node, or several over the network."""
    return 0.9 if gpus <= REFERENCE_GPUS else 0.8


def per_avatar_row(name: str, seconds_per_avatar: float, basis: str) -> dict[str, Any]:
    return {"stage": name, "kind": "per_avatar", "gpu_hours": seconds_per_avatar * AVATARS / 3600,
            "seconds_per_avatar_per_gpu": seconds_per_avatar, "basis": basis}


def training_row(name: str, model: dict[str, Any], samples_per_second: float,
                 basis: str) -> dict[str, Any]:
    samples = model["trainer"]["max_steps"] * model["batch_size"] * REFERENCE_GPUS
    return {"stage": name, "kind": "ddp", "gpu_hours": samples / samples_per_second / 3600,
            "training_samples": samples, "samples_per_second_per_gpu": samples_per_second,
            "basis": basis}


def rows(params: dict[str, Any], training: dict[str, Any], renderer: dict[str, Any]
         ) -> list[dict[str, Any]]:
    """The stages' GPU-hours at one GPU's measured speed (before any scaling)."""
    ours = renderer["variants"]["ours_clip"]
    forward_rays, training_rays = ours["forward_rays_per_s"], ours["forward_backward_rays_per_s"]
    views = params["render"]["views"]
    torch_backend = params["render"]["backends"]["torch"]
    render_samples = torch_backend["coarse_samples"] + torch_backend["fine_samples"]
    render_rays = (views["views"] + 1) * views["image_size"] ** 2
    phase2 = params["fit"]["phase2"]
    fit_render = phase2["settings"]["render"]
    fit_samples = fit_render["coarse_samples"] + fit_render["fine_samples"]
    fit_rays = phase2["steps"] * phase2["settings"]["rays_per_step"]
    base, upsampler = training["paper/base"], training["paper/upsampler"]
    diffusion = params["diffusion"]
    tflops = {name: m["gflops_per_sample_fwd_bwd"] * m["samples_per_second_fp32"] / 1e3
              for name, m in (("base", base), ("upsampler", upsampler))}
    sampling = params["diffusion"]["sampling"]
    sample_seconds = sum(
        2 * steps * m["gflops_per_sample_fwd_bwd"] * FORWARD_SHARE_OF_TRAINING / 1e3 / tflops[k]
        for k, m, steps in (("base", base, sampling["base_steps"]),
                            ("upsampler", upsampler, sampling["upsampler_steps"])))
    device = training.get("device", "?")
    return [
        per_avatar_row(
            "render (proxy)", render_rays * render_samples / SAMPLES_PER_RAY_MEASURED / forward_rays,
            f"PROXY, not the render stage: {views['views'] + 1} views x {views['image_size']}² rays"
            f" x {render_samples} samples at the tri-plane renderer's forward rate on the "
            f"{device} ({forward_rays:,.0f} rays/s at 64 samples); the procedural scene's baking "
            "and the render stage's own renderer are not measured on a GPU"),
        per_avatar_row(
            "fit (phase 2)", fit_rays * fit_samples / SAMPLES_PER_RAY_MEASURED / training_rays,
            f"{phase2['steps']} steps x {phase2['settings']['rays_per_step']} rays x "
            f"{fit_samples} samples at the renderer's forward + backward rate on the {device} "
            f"({training_rays:,.0f} rays/s at 64 samples); photometric rays only (the 3D and TV "
            "terms, phase 1 and data loading not counted)"),
        {"stage": "encoder (CLIP + embeddings)", "kind": "not_measured", "gpu_hours": None,
         "basis": "not measured on a GPU"},
        training_row("base diffusion", diffusion["base"], base["samples_per_second_fp32"],
                     f"{base['samples_per_second_fp32']:.1f} samples/s, fp32/TF32, per-GPU batch "
                     f"{base['batch']}, on the {device} (rendering loss none)"),
        training_row("upsampler diffusion", diffusion["upsampler"],
                     upsampler["samples_per_second_fp32"],
                     f"{upsampler['samples_per_second_fp32']:.2f} samples/s, fp32/TF32, per-GPU "
                     f"batch {upsampler['batch']}, on the {device}, without the rendering loss"),
        {"stage": "sampling, per avatar", "kind": "per_sample",
         "gpu_hours": None, "seconds_per_avatar_per_gpu": sample_seconds,
         "basis": f"{sampling['base_steps']} + {sampling['upsampler_steps']} steps with guidance "
                  f"at the training TFLOP/s ({tflops['base']:.0f} / {tflops['upsampler']:.0f})"},
    ]


def wall_hours(row: dict[str, Any], gpus: int) -> float | None:
    if row["gpu_hours"] is None:
        return None
    efficiency = 1.0 if row["kind"] == "per_avatar" else ddp_efficiency(gpus)
    return row["gpu_hours"] / (gpus * efficiency)


def markdown(table: list[dict[str, Any]], gpus: list[int]) -> str:
    head = "| stage | GPU-hours (1 GPU's speed) | " + " | ".join(
        f"wall on {n} GPUs (GPU-hours billed)" for n in gpus) + " | rests on |"
    lines = [head, "|" + "---|" * (len(gpus) + 3)]
    for row in table:
        if row["kind"] == "per_sample":
            cells = [f"{row['seconds_per_avatar_per_gpu']:.1f} s per avatar"] + ["" for _ in gpus]
        elif row["gpu_hours"] is None:
            cells = ["not measured"] + ["" for _ in gpus]
        else:
            cells = [f"{row['gpu_hours']:,.0f}"] + [
                f"{wall_hours(row, n):,.1f} h ({wall_hours(row, n) * n:,.0f})" for n in gpus]
        lines.append(f"| {row['stage']} | " + " | ".join(cells) + f" | {row['basis']} |")
    measured = [r for r in table if r["gpu_hours"] is not None and "proxy" not in r["stage"]]
    total = [sum(wall_hours(r, n) for r in measured) for n in gpus]
    lines.append("| **measured stages** (fit, base, upsampler) | "
                 f"{sum(r['gpu_hours'] for r in measured):,.0f} | "
                 + " | ".join(f"{t:,.1f} h ({t * n:,.0f})" for t, n in zip(total, gpus))
                 + " | the rows above |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--out", type=Path, default=RESULTS / "planning_table.json")
    args = parser.parse_args()
    params = load_parameters(ROOT / "conf", "paper")
    training = json.loads((RESULTS / "gpu" / "diffusion_training.json").read_text())
    renderer = json.loads((RESULTS / "gpu" / "triplane_renderer_cuda.json").read_text())
    table = rows(params, training, renderer)
    for row in table:
        row["wall_hours"] = {str(n): wall_hours(row, n) for n in args.gpus}
    text = markdown(table, args.gpus)
    print(text)
    atomic_write_json(args.out, {"avatars": AVATARS, "gpus": args.gpus, "rows": table,
                                 "ddp_efficiency": {str(n): ddp_efficiency(n) for n in args.gpus},
                                 "markdown": text})


if __name__ == "__main__":
    main()
