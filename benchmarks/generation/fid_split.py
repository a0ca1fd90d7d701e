"""Where does the unconditional FID gap come from? The evaluate stage's FID, one change at a time.

    python benchmarks/generation/fid_split.py VARIANT[,VARIANT...] [--env base] [--out FILE]

Run from the project root after `kedro run` (it reads the trained models, the judge, and the
real held-out renders' features that `kedro run --pipeline evaluate` saved under
`data/08_reporting/generation/features/`). Each variant samples the evaluate stage's 48 avatars
(same prior latents, seed and sampling settings, so `prior` reproduces `fid_*_ours` of
`metrics/generation.json` exactly), renders them from the held-out cameras and reports FID on the
judge's and on the CLIP's features against the real renders. Variants:

- `prior`: the default (prior → e → base → upsampler);
- `blur:S`: the base sample blurred (Gaussian, sigma S texels) before the upsampler;
- `bilinear`: no upsampler (the base sample bilinearly upsampled);
- `upsampler_steps:N`, `base_steps:N`, `guidance:G` (base and upsampler): sampling changes;
- `heldout_e`: the held-out avatars' own frontal e (the real set's own avatars, twice);
- `train_e[:K]`: 48 training avatars' own frontal e (from the K-th): a perfect prior;
- `fitted_train[:K]`: those training avatars' fitted tri-planes, no diffusion: a perfect
  generator of avatars other than the 24 real ones.

JSON to benchmarks/results/fid_split.json (or --out), one entry per variant.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms.v2 import functional as vision

from project_catalog import benchmark_parser, catalog_entries

from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_base, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import upsampler_context
from rodin_pipelines.evaluation.attribute_network import image_features
from rodin_pipelines.evaluation.attribute_views import rgb_views
from rodin_pipelines.evaluation.evaluation_set import evaluation_set
from rodin_pipelines.evaluation.frechet import frechet_distance
from rodin_pipelines.evaluation.generative_metrics import extract_features
from rodin_pipelines.evaluation.image_features import ClipImageFeatures
from rodin_pipelines.evaluation.sample_renders import render_like_heldout
from rodin_pipelines.generation.generator import MODEL_INPUTS, load_generation_models
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.layout import roll_in, roll_out
from rodin_pipelines.triplane.normalisation import denormalise_planes

FEATURES = Path("data/08_reporting/generation/features")


def blurred(low: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each plane of rolled-out ``(B, C, r, 3r)`` blurred by a Gaussian of ``sigma`` texels."""
    planes = roll_in(low)  # (B, 3, C, r, r)
    size = 2 * int(np.ceil(2 * sigma)) + 1
    flat = vision.gaussian_blur(planes.flatten(0, 1), kernel_size=[size, size],
                                sigma=[sigma, sigma])
    return roll_out(flat.unflatten(0, planes.shape[:2]))


def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/fid_split.json"))
    parser.add_argument("variants")
    args = parser.parse_args()
    loaded, params = catalog_entries(
        args.env, ["triplanes", "avatars", "avatar_index", "attribute_judge", *MODEL_INPUTS])
    diffusion, evaluate, encoder = params["diffusion"], params["evaluate"], params["encoder"]
    settings = SamplingSettings(**{**diffusion["sampling"], **evaluate["sampling"]})
    chosen = evaluation_set(loaded["embedding_prior"], loaded["triplanes"], loaded["avatars"],
                            loaded["avatar_index"], encoder, settings, evaluate)
    models = load_generation_models(*(loaded[name] for name in MODEL_INPUTS), encoder, diffusion,
                                    params["fit"])
    clip = ClipImageFeatures(models.clip)
    real = {scorer: torch.from_numpy(np.load(FEATURES / f"real.{scorer}.npy"))
            for scorer in ("attribute", "clip")}
    render = VolumeRenderSettings(**evaluate["render"])
    embeddings, count = loaded["avatar_embeddings"], len(chosen.latents)
    results: dict[str, dict[str, float]] = {}
    for variant in args.variants.split(","):
        started = time.perf_counter()
        kind, _, value = variant.partition(":")
        latents, base_settings, upsampler_settings = chosen.latents, settings, settings
        if kind == "heldout_e":
            ids = split_ids(loaded["avatar_index"], "heldout", embeddings)
            own = torch.stack([embeddings[i][0].float() for i in ids])
            latents = own.repeat(-(-count // len(ids)), 1)[:count]
        elif kind in ("train_e", "fitted_train"):
            first = int(value or 0)
            ids = split_ids(loaded["avatar_index"], "train", embeddings)[first:first + count]
            latents = torch.stack([embeddings[i][0].float() for i in ids])
        elif kind == "upsampler_steps":
            upsampler_settings = replace(settings, upsampler_steps=int(value))
        elif kind == "base_steps":
            base_settings = replace(settings, base_steps=int(value))
        elif kind == "guidance":
            base_settings = upsampler_settings = replace(settings, guidance_scale=float(value))
        elif kind not in ("prior", "blur", "bilinear"):
            raise SystemExit(f"unknown variant {variant!r}; see --help")
        if kind == "fitted_train":
            planes = torch.stack([loaded["triplanes"][i]()[0].float() for i in ids])
        else:
            generator = torch.Generator().manual_seed(evaluate["seed"])
            low = sample_base(models.base, latents, len(latents), models.plane_statistics.channels,
                              diffusion["base_resolution"], base_settings, generator)
            if kind == "blur":
                low = blurred(low, float(value))
            resolution = chosen.sizes["fitted_resolution"]
            high = (upsampler_context(low, resolution) if kind == "bilinear" else
                    sample_upsampler(models.upsampler, low, latents, resolution,
                                     upsampler_settings, generator))
            planes = denormalise_planes(roll_in(high), models.plane_statistics)
        rgb = rgb_views(render_like_heldout(planes, models.decoder, chosen.cameras, render))
        fake = {"attribute": image_features(loaded["attribute_judge"], rgb).double(),
                "clip": extract_features(rgb, clip).double()}
        results[variant] = {f"fid_{scorer}": frechet_distance(real[scorer], fake[scorer])
                            for scorer in real}
        results[variant]["seconds"] = time.perf_counter() - started
        print(variant, json.dumps(results[variant]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
