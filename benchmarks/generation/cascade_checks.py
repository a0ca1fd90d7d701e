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

import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from project_catalog import benchmark_parser, catalog_entries

from rodin_pipelines.evaluation.cascade_checks import cascade_fidelity, train_cascade
from rodin_pipelines.training.diffusion_training import collect_triplane_examples


def project_inputs(env: str) -> dict[str, Any]:
    loaded, params = catalog_entries(env, ["triplanes", "avatar_embeddings", "avatar_index",
                                           "avatars", "plane_statistics", "shared_decoder"])
    return {**loaded, "params": params}


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


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("mode", choices=["memorise", "alone"])
    parser.add_argument("--avatars", type=int, default=None)
    parser.add_argument("--base-steps", type=int, default=None)
    parser.add_argument("--upsampler-steps", type=int, default=None)
    parser.add_argument("--heldout", type=int, default=24)
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    avatars = args.avatars if args.avatars is not None else (8 if args.mode == "memorise" else None)
    inputs = project_inputs(args.env)
    overrides = list(args.overrides)
    if args.base_steps:
        overrides.append(f"diffusion.base.trainer.max_steps={args.base_steps}")
    if args.upsampler_steps:
        overrides.append(f"diffusion.upsampler.trainer.max_steps={args.upsampler_steps}")
    params = apply_overrides(inputs["params"], overrides)
    diffusion = {**params["diffusion"], "max_avatars": avatars}
    examples = collect_triplane_examples(inputs["triplanes"], inputs["avatar_embeddings"],
                                         inputs["avatar_index"], inputs["avatars"], diffusion)
    with tempfile.TemporaryDirectory() as workdir:
        cascade = train_cascade(examples, inputs["plane_statistics"], inputs["shared_decoder"],
                                diffusion, params["render"], Path(workdir))
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
    result = cascade_fidelity(planes, latents, cascade, inputs["plane_statistics"],
                              inputs["shared_decoder"], params["render"], args.seed)
    result.update({f"{name}_training_seconds": s for name, s in cascade.training_seconds.items()},
                  mode=args.mode, training_avatars=len(examples), overrides=overrides,
                  sampling_seconds=time.perf_counter() - start)
    if args.mode == "memorise":
        result["passes_25db_each"] = result["cascade_frontal_psnr_min"] >= 25.0
    out = args.out or Path(f"benchmarks/results/cascade_{args.mode}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
