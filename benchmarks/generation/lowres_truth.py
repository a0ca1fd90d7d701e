"""What the fitted tri-planes keep at the base model's resolution (issue 16), no diffusion needed.

    python benchmarks/generation/lowres_truth.py [--env base] [--avatars 24]
        [--resolutions 16 24 32] [--refit-rescale P ...] [--out FILE] [--sheet PNG]

Run from the project root after the `render` and `fit` stages and the evaluate stage's judge
(`kedro run --pipeline evaluate --nodes train_attribute_judge` or a whole `kedro run`). For each
held-out avatar it renders the frontal view of its fitted tri-plane, and of that tri-plane
area-downsampled to r² and upsampled bilinearly (what a perfect base model at r² hands the
upsampler), and reports per row:

- the judge's agreement with the avatar's true attributes where the render shows them, with the
  glasses verdict split into glasses seen on bare faces and missed on worn ones;
- the frontal render's PSNR against the avatar's own frontal image (`view_psnr`: on white).

`--refit-rescale P ...` compares fit settings without touching the fit stage's files: the held-out
avatars' phase-2 tri-planes are fitted again by the fit stage's own code (same decoder, start and
settings) with the phase-2 random scaling `fit.phase2.settings.rescale_probability` set to each P,
into a temporary folder, and scored the same way (rows `refit_P_*`). Include the configured value
as the control: the refit draws other seeds than the stage (it fits fewer avatars).
JSON to benchmarks/results/lowres_truth.json (or --out).
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from judge_split import glasses_confusion
from project_catalog import benchmark_parser, catalog_entries

from rodin_pipelines.avatars.scene import scene_settings
from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.evaluation.generation_benchmark import judge_renders
from rodin_pipelines.evaluation.generation_report import (agreement_with, frontal_camera_of,
                                                          heldout_avatars, truths_of)
from rodin_pipelines.evaluation.view_quality import EVALUATION_BACKGROUND, view_psnr
from rodin_pipelines.rendering.compositing import straight_rgba_over
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.fit_plans import plan_plane_fits
from rodin_pipelines.triplane.field import render_triplanes
from rodin_pipelines.triplane.plane_jobs import TRIPLANE_SUFFIX, run_plane_fits
from rodin_pipelines.triplane.rescale import down_up_sample
from rodin_pipelines.triplane.storage import load_triplane

NAMES = ["triplanes", "shared_decoder", "avatar_index", "avatars", "attribute_judge"]


def on_white(rgba: torch.Tensor) -> torch.Tensor:
    """Straight RGBA ``(..., 4)`` over the evaluation background (white), ``(..., 3)``."""
    return straight_rgba_over(rgba, torch.tensor(EVALUATION_BACKGROUND))


def refitted(ids: list[str], loaded: dict, params: dict, probability: float) -> torch.Tensor:
    """Phase-2 tri-planes ``(N, 3, C, R, R)`` of avatars ``ids`` fitted again with random
    scaling at ``probability``, by the fit stage's planner and workers."""
    fit = copy.deepcopy(params["fit"])
    fit["phase2"]["settings"]["rescale_probability"] = probability
    scene = scene_settings(params["render"]["scene"]) if fit["supervision_3d"] else None
    batch = plan_plane_fits({i: loaded["avatars"][i] for i in ids}, loaded["shared_decoder"],
                            fit, scene)
    with tempfile.TemporaryDirectory() as root:
        run_plane_fits(batch, root)
        return torch.stack([load_triplane(Path(root) / f"{i}{TRIPLANE_SUFFIX}")[0].float()
                            for i in ids])


def scaled_variants(name: str, planes: torch.Tensor, resolutions: list[int]
                    ) -> dict[str, torch.Tensor]:
    """``planes`` as they are and through each of ``resolutions`` (area down, bilinear up)."""
    return {name: planes, **{f"{name}_low_bilinear_{r}": down_up_sample(planes, r)
                             for r in resolutions}}


@torch.no_grad()
def score(ids: list[str], loaded: dict, params: dict, variants: dict[str, torch.Tensor],
          avatars: list, rows: list) -> dict[str, object]:
    """The judge's agreement and the frontal PSNR of each variant's frontal render."""
    decoder = loaded["shared_decoder"].decoder
    camera = frontal_camera_of(loaded["avatars"][ids[0]])
    render = VolumeRenderSettings(**params["evaluate"]["render"])
    truth_frontals = torch.stack([a.frontal for a in avatars])  # (N, H, W, 4)
    glasses_worn = truths_of(avatars)["glasses"]
    result: dict[str, object] = {}
    for name, planes in variants.items():
        frontal = render_triplanes(planes, decoder, camera, render)[:, 0]  # (N, H, W, 4)
        rows.append(torch.cat(list(on_white(frontal[:12])), dim=1))
        predicted = judge_renders(loaded["attribute_judge"], frontal)
        result[name] = {**agreement_with(avatars, predicted),
                        "glasses_confusion": glasses_confusion(predicted["glasses"],
                                                               glasses_worn),
                        "frontal_psnr": view_psnr(frontal, truth_frontals)}
        print(name, json.dumps(result[name]), flush=True)
    return result


def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/lowres_truth.json"))
    parser.add_argument("--avatars", type=int, default=24)
    parser.add_argument("--resolutions", type=int, nargs="*", default=[16, 24, 32])
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--refit-rescale", type=float, nargs="*", default=[])
    args = parser.parse_args()
    loaded, params = catalog_entries(args.env, NAMES)
    started = time.perf_counter()
    ids = split_ids(loaded["avatar_index"], "heldout", loaded["triplanes"])[:args.avatars]
    no_latents = {i: torch.zeros(1, 1) for i in ids}  # the judge needs no e
    avatars = heldout_avatars(loaded["avatars"], ids, no_latents)
    fitted = torch.stack([loaded["triplanes"][i]()[0].float() for i in ids])  # (N, 3, C, R, R)
    result: dict[str, object] = {"avatars": len(ids), "fit": params["fit"]["phase2"]["settings"]}
    rows: list[torch.Tensor] = []
    result.update(score(ids, loaded, params, scaled_variants("fitted", fitted, args.resolutions),
                        avatars, rows))
    for probability in args.refit_rescale:
        planes = refitted(ids, loaded, params, probability)
        result.update(score(ids, loaded, params,
                            scaled_variants(f"refit_{probability:g}", planes, args.resolutions),
                            avatars, rows))
    result["seconds"] = time.perf_counter() - started
    if args.sheet is not None:
        truth_images = on_white(torch.stack([a.frontal for a in avatars[:12]]))
        sheet = torch.cat([torch.cat(list(truth_images), dim=1), *rows], dim=0)
        Image.fromarray((sheet.clamp(0, 1) * 255).round().to(torch.uint8).numpy()).save(args.sheet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
