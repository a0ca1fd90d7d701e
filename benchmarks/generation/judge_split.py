"""Where does the cascade lose an attribute? The independent judge on each half alone (issue 16).

    python benchmarks/generation/judge_split.py [--env base] [--split heldout|train]
        [--avatars 24] [--repeats 1] [--guidance G] [--upsampler-guidance G]
        [--low-resolutions 24 32] [--context-levels 0.3 0.5] [--out FILE] [--sheet PNG]

Run from the project root after `kedro run` (or `--pipelines render,fit,encoder,diffusion` then
`--pipeline evaluate`): it reads the stage's trained base and upsampler, the evaluate stage's
judge and the held-out avatars' fitted tri-planes and latents from the catalog. For each
held-out avatar it renders the frontal view of five tri-planes and reports the judge's agreement
with the avatar's true attributes (where they show), as `metrics/generation.json` scores the
conditional samples:

- `fitted`: the fitted tri-plane itself (the ceiling the cascade is trained towards);
- `truth_low_bilinear`: the fitted tri-plane at the base resolution, upsampled bilinearly
  (what a perfect base model with no upsampler would give);
- `upsampler_on_truth_low`: the upsampler given the true low-resolution planes and e;
- `base_bilinear`: the base model's sample from e, upsampled bilinearly;
- `cascade`: base then upsampler from e (what `evaluate` scores).

Same seed and sampling settings as the evaluate stage's generation benchmark. JSON to
benchmarks/results/judge_split.json (or --out). `--split train` scores the first `--avatars`
training avatars instead (the models saw their tri-planes): a gap between the two splits says the
base model does not generalise from e, no gap says it has not learned the attribute at all.
`--repeats R` draws R samples per avatar (R x 24 judged: less noise than
24 binary outcomes, whose agreement moves by 0.04 per sample). `--sheet` writes each row's
frontal renders of the first 12 avatars as the rows of one PNG.
`--context-levels L ...` adds `cascade_level_<L>` and `upsampler_on_truth_low_level_<L>` rows:
the upsampler reading its input noised at level L (an upsampler trained with level-conditioned
conditioning augmentation; the default rows use the configured `upsampler_context_level`).
`--low-resolutions` adds `truth_low_bilinear_<r>` rows: the fitted tri-plane area-downsampled to
r² instead of the base resolution (what a perfect base model at r² would keep). Every row also
splits the glasses verdict (`glasses_confusion`): the share of avatars without glasses the judge
sees glasses on (`false_glasses`), and of avatars with glasses it sees none on (`missed_glasses`),
so a low glasses agreement says whether samples lose glasses or grow them.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from project_catalog import benchmark_parser, generation_models

from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.cascade import SamplingSettings, sample_base, sample_upsampler
from rodin_pipelines.diffusion.conditioning_augmentation import (downsample_rolled_out,
                                                                   upsampler_context)
from rodin_pipelines.evaluation.generation_benchmark import judge_renders
from rodin_pipelines.evaluation.generation_fidelity import presence
from rodin_pipelines.evaluation.generation_report import (agreement_with, frontal_camera_of,
                                                          heldout_avatars, truths_of)
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.triplane_diffusion_data import TriplaneDiffusionSet
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.triplane.layout import roll_in
from rodin_pipelines.triplane.normalisation import denormalise_planes

NAMES = ["triplanes", "avatar_embeddings", "avatar_index", "avatars", "attribute_judge"]


def glasses_confusion(predicted: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Shares of glasses codes ``(B,)`` judged present on avatars without them, and absent on
    avatars with them (NaN where the split has none of a kind)."""
    seen, worn = presence(predicted, "glasses"), presence(truth, "glasses")

    def share(rows: torch.Tensor) -> float:
        return float(rows.float().mean()) if len(rows) else float("nan")

    return {"false_glasses": share(seen[~worn]), "missed_glasses": share(~seen[worn]),
            "avatars_with_glasses": int(worn.sum())}


@torch.no_grad()
def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/judge_split.json"))
    parser.add_argument("--split", choices=["heldout", "train"], default="heldout")
    parser.add_argument("--avatars", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance scale (default: the evaluate stage's)")
    parser.add_argument("--upsampler-guidance", type=float, default=None,
                        help="the upsampler's own guidance scale (default: as the base model's)")
    parser.add_argument("--low-resolutions", type=int, nargs="*", default=[],
                        help="more resolutions of the downsampled truth, upsampled bilinearly")
    parser.add_argument("--context-levels", type=float, nargs="*", default=[],
                        help="more noise levels on the upsampler's input (an upsampler trained "
                             "with level-conditioned augmentation): cascade and on-truth rows")
    args = parser.parse_args()
    models, loaded, params = generation_models(args.env, NAMES)
    started = time.perf_counter()
    diffusion, generation = params["diffusion"], params["evaluate"]["generation"]
    statistics = models.plane_statistics
    heldout_ids = split_ids(loaded["avatar_index"], args.split,
                            loaded["avatar_embeddings"])[:args.avatars]
    heldout = heldout_avatars(loaded["avatars"], heldout_ids,
                              loaded["avatar_embeddings"]) * args.repeats
    truth = torch.stack([loaded["triplanes"][i]()[0].float() for i in heldout_ids])
    truth = truth.repeat(args.repeats, 1, 1, 1, 1)  # (R N, 3, C, R, R), as `heldout`
    latents = torch.stack([a.latent for a in heldout])  # (N, D)
    camera = frontal_camera_of(loaded["avatars"][heldout_ids[0]])
    settings = SamplingSettings(**{**diffusion["sampling"], **generation["sampling"]})
    if args.guidance is not None:
        settings = replace(settings, guidance_scale=args.guidance)
    if args.upsampler_guidance is not None:
        settings = replace(settings, upsampler_guidance_scale=args.upsampler_guidance)
    low_resolution, resolution = diffusion["base_resolution"], truth.shape[-1]

    rolled = torch.stack([TriplaneDiffusionSet.normalised_rolled(p, statistics) for p in truth])
    truth_low = downsample_rolled_out(rolled, low_resolution)  # (N, C, r, 3r)
    generator = torch.Generator().manual_seed(generation["seed"])
    low = sample_base(models.base, latents, len(heldout), statistics.channels, low_resolution,
                      settings, generator)
    high = sample_upsampler(models.upsampler, low, latents, resolution, settings, generator)
    on_truth = sample_upsampler(models.upsampler, truth_low, latents, resolution, settings,
                                generator)
    at_levels = {}
    for level in args.context_levels:
        leveled = replace(settings, upsampler_context_level=level)
        at_levels[f"cascade_level_{level:g}"] = sample_upsampler(
            models.upsampler, low, latents, resolution, leveled, generator)
        at_levels[f"upsampler_on_truth_low_level_{level:g}"] = sample_upsampler(
            models.upsampler, truth_low, latents, resolution, leveled, generator)
    variants = {
        "fitted": truth,
        "truth_low_bilinear": upsampler_context(truth_low, resolution),
        "upsampler_on_truth_low": on_truth,
        "base_bilinear": upsampler_context(low, resolution),
        "cascade": high,
        **{f"truth_low_bilinear_{r}":
           upsampler_context(downsample_rolled_out(rolled, r), resolution)
           for r in args.low_resolutions},
        **at_levels,
    }
    render = VolumeRenderSettings(**params["evaluate"]["render"])
    glasses_worn = truths_of(heldout)["glasses"]
    result: dict[str, object] = {"split": args.split, "avatars": len(heldout_ids),
                                 "repeats": args.repeats,
                                 "seed": generation["seed"], "sampling": vars(settings)}
    rows = []
    for name, planes in variants.items():
        if name != "fitted":
            planes = denormalise_planes(roll_in(planes), statistics)
        frontal = render_triplanes(planes, models.decoder, camera, render)[:, 0]
        rows.append(torch.cat(list(frontal[:12]), dim=1))  # (H, 12 W, 4)
        predicted = judge_renders(loaded["attribute_judge"], frontal)
        result[name] = {**agreement_with(heldout, predicted),
                        "glasses_confusion": glasses_confusion(predicted["glasses"], glasses_worn)}
        print(name, json.dumps(result[name]))
    result["seconds"] = time.perf_counter() - started
    if args.sheet is not None:
        sheet = torch.cat(rows, dim=0)  # one row per variant, in the order of `variants`
        rgb = sheet[..., :3] * sheet[..., 3:] + (1 - sheet[..., 3:])  # on white
        Image.fromarray((rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()).save(args.sheet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
