"""Training-step throughput and FLOPs of the base and upsampler U-Nets, at the default and paper
sizes, in fp32, channels-last, bf16 autocast and ``torch.compile`` (with and without bf16) — as
ratios against fp32 measured in the same run.

Sizes come from ``conf/<env>/parameters_diffusion.yml`` and ``parameters_fit.yml`` through the
stage's own ``network_config`` (the latent size is the CLIP embedding: 128 for the domain CLIP,
512 for a ViT-B-32 at paper scale). FLOPs are counted by ``torch.utils.flop_counter`` for one
forward + backward of one sample. Variants are timed round-robin so machine load hits them alike.

    python benchmarks/bench_diffusion_training.py                  # CPU: default sizes timed
    python benchmarks/bench_diffusion_training.py --time-paper     # also time paper sizes (GPU)
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.settings import load_parameters
from rodin_pipelines.instantiation import build_from_config
from rodin_pipelines.diffusion.networks import network_config

ROOT = Path(__file__).resolve().parents[1]
LATENT_DIM = {"base": 128, "paper": 512}
VARIANTS = ("fp32", "channels_last", "bf16_autocast", "compiled", "compiled_bf16_autocast")


def parameters(env: str) -> dict:
    return load_parameters(ROOT / "conf", env)


def build(env: str, model_name: str, device: torch.device) -> tuple[torch.nn.Module, dict]:
    params = parameters(env)
    model, diffusion, fit = params["diffusion"][model_name], params["diffusion"], params["fit"]
    sizes = {"channels": fit["decoder"]["channels"], "latent_dim": LATENT_DIM[env],
             "fitted_resolution": fit["resolution"]}
    config = network_config(model, diffusion, **sizes)
    network = build_from_config(config).to(device)
    # The network's own view: an upsampler reads its context channels too.
    shape = {"in_channels": network.in_channels, "resolution": network.resolution,
             "latent_dim": sizes["latent_dim"], "batch": model["batch_size"]}
    return network, shape


def inputs(shape: dict, batch: int, device: torch.device, channels_last: bool):
    x = torch.randn(batch, shape["in_channels"], shape["resolution"], 3 * shape["resolution"],
                    device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    t = torch.randint(0, 1000, (batch,), device=device).float()
    return x, t, torch.randn(batch, shape["latent_dim"], device=device)


def step(network, optimiser, shape, batch, device, variant) -> None:
    x, t, latent = inputs(shape, batch, device, variant == "channels_last")
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16)
                if variant.endswith("bf16_autocast") else contextlib.nullcontext())
    with autocast:
        loss = network(x, t, latent).float().pow(2).mean()
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()


def flops_per_sample(env: str, model_name: str) -> tuple[float, int, dict]:
    """FLOPs of one forward + backward of one sample, counted on the meta device (no memory,
    no compute, so paper sizes count on a laptop), and the parameter count."""
    meta = torch.device("meta")
    with meta:
        network, shape = build(env, model_name, meta)
        x, t, latent = inputs(shape, 1, meta, False)
        with FlopCounterMode(display=False) as counter:
            network(x, t, latent).pow(2).mean().backward()
    return float(counter.get_total_flops()), sum(p.numel() for p in network.parameters()), shape


def timed(env: str, model_name: str, device: torch.device, repeats: int) -> dict:
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    networks = {}
    warm_up: dict[str, float] = {}
    for variant in VARIANTS:
        network, shape = build(env, model_name, device)
        if variant == "channels_last":
            network = network.to(memory_format=torch.channels_last)
        optimiser = torch.optim.AdamW(network.parameters(), lr=1e-4)
        if variant.startswith("compiled"):
            network = torch.compile(network)  # what `compile: true` in the stage's config does
        started = time.perf_counter()
        step(network, optimiser, shape, shape["batch"], device, variant)  # warm-up (compiles)
        warm_up[variant] = time.perf_counter() - started
        networks[variant] = (network, optimiser, shape)
    for _ in range(repeats):
        for variant, (network, optimiser, shape) in networks.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            step(network, optimiser, shape, shape["batch"], device, variant)
            if device.type == "cuda":
                torch.cuda.synchronize()
            results[variant].append(shape["batch"] / (time.perf_counter() - start))
    fp32 = statistics.median(results["fp32"])
    return {"batch": shape["batch"],
            "samples_per_second_fp32": fp32,
            **{f"ratio_{v}_vs_fp32": statistics.median(results[v]) / fp32 for v in VARIANTS[1:]},
            **{f"first_step_seconds_{v}": warm_up[v] for v in VARIANTS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--time-paper", action="store_true",
                        help="time paper sizes too (minutes per step on a CPU)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/diffusion_training.json"))
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    report: dict = {"device": torch.cuda.get_device_name() if device.type == "cuda"
                    else platform.processor() or "cpu", "threads": torch.get_num_threads()}
    for env in ("base", "paper"):
        for model_name in ("base", "upsampler"):
            flops, parameters_count, shape = flops_per_sample(env, model_name)
            entry = {"parameters": parameters_count,
                     "input": f"{shape['in_channels']} x {shape['resolution']} x "
                              f"{3 * shape['resolution']}",
                     "gflops_per_sample_fwd_bwd": flops / 1e9}
            if env == "base" or args.time_paper:
                entry.update(timed(env, model_name, device, args.repeats))
            report[f"{env}/{model_name}"] = entry
            print(env, model_name, entry, flush=True)
    atomic_write_json(Path(args.output), report)


if __name__ == "__main__":
    main()
