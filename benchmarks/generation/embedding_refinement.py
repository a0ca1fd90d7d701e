"""Conditional samples refined towards their own e in CLIP space (issue 16; measured, not adopted).

    python benchmarks/generation/embedding_refinement.py NAME=SETTINGS [NAME=SETTINGS ...]
        [--env base] [--out FILE] [--sheet PNG]

Run from the project root after `kedro run`. The 24 held-out avatars' conditional cascade
samples (same seed and sampling as the evaluate stage) are each refined by gradient descent on
their renders so that the domain CLIP's embedding of a near-frontal view moves towards the e the
sample was conditioned on (cosine), through the same anchored, coarse-grid plane offsets as the
text-guided edit (`generation.plane_refinement`). Each SETTINGS is a JSON object of
`RefinementSettings`, e.g. `o16='{"steps": 30, "learning_rate": 0.05, "anchor_weight": 0.1,
"offset_resolution": 16, "views_per_step": 1, "azimuth_degrees": 20}'`. Per row: the judge's
agreement with the true attributes on the frontal render (as `metrics/generation.json`'s
`conditional_*`), the mean cosine of that render's CLIP embedding to e, and seconds. `--sheet`
writes the frontal renders of the first 12 avatars, one row per variant (the cascade first).
JSON to benchmarks/results/embedding_refinement.json (or --out).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from project_catalog import benchmark_parser, generation_models

from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.diffusion.cascade import SamplingSettings
from rodin_pipelines.evaluation.generation_benchmark import cascade, judged, with_judge
from rodin_pipelines.evaluation.generation_report import (agreement_with, frontal_camera_of,
                                                          heldout_avatars)
from rodin_pipelines.generation.plane_refinement import RefinementSettings, refine_planes
from rodin_pipelines.generation.text_guided_refinement import (image_embeddings,
                                                                random_front_cameras)
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField

NAMES = ["avatar_embeddings", "avatar_index", "avatars", "attribute_judge"]


def refine_towards_embeddings(planes: Tensor, decoder: TriplaneDecoder, clip: LoadedClip,
                              rig: CameraRig, render: VolumeRenderSettings, targets: Tensor,
                              scale: Tensor, settings: RefinementSettings) -> Tensor:
    """Tri-planes ``(B, 3, C, R, R)`` moved so that CLIP embeddings of their near-frontal
    renders approach the unit ``targets`` ``(B, D)``."""
    render = replace(render, empty_opacity=0.0, jitter=True)  # every ray keeps its gradient

    def objective(changed: Tensor, generator: torch.Generator) -> Tensor:
        cameras = random_front_cameras(rig, settings.views_per_step, settings.image_size,
                                       settings.azimuth_degrees, generator)
        loss = changed.new_zeros(())
        for plane, target in zip(changed, targets):
            colour, opacity = render_cameras(TriplaneField(plane, decoder), cameras, render)
            loss = loss - (image_embeddings(clip, colour, opacity) @ target).mean() / len(changed)
        return loss

    return refine_planes(planes, scale, settings, objective, [decoder, clip.model],
                         description="embedding refinement")


@torch.no_grad()
def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/embedding_refinement.json"))
    parser.add_argument("variants", nargs="+", help="NAME=JSON RefinementSettings")
    parser.add_argument("--sheet", type=Path, default=None)
    args = parser.parse_args()
    models, loaded, params = generation_models(args.env, NAMES)
    models = with_judge(models, loaded["attribute_judge"])
    started = time.perf_counter()
    generation = params["evaluate"]["generation"]
    embeddings = loaded["avatar_embeddings"]
    ids = split_ids(loaded["avatar_index"], "heldout", embeddings)[:24]
    heldout = heldout_avatars(loaded["avatars"], ids, embeddings)
    latents = torch.stack([a.latent for a in heldout])  # (24, D)
    targets = latents / latents.norm(dim=1, keepdim=True)
    settings = SamplingSettings(**{**params["diffusion"]["sampling"], **generation["sampling"]})
    samples = cascade(models, latents, settings, generation["seed"])  # as the evaluate stage's
    camera = frontal_camera_of(loaded["avatars"][ids[0]])
    render = VolumeRenderSettings(**params["evaluate"]["render"])
    rig = CameraRig(**params["render"]["camera_rig"])
    result: dict[str, object] = {"avatars": len(ids), "sampling": vars(settings)}
    rows = []
    variants = {"cascade": None, **dict(item.split("=", 1) for item in args.variants)}
    for name, overrides in variants.items():
        begun = time.perf_counter()
        planes = samples
        if overrides is not None:
            refine = RefinementSettings(**json.loads(overrides))
            with torch.enable_grad():
                planes = refine_towards_embeddings(samples, models.decoder, models.clip, rig,
                                                   render, targets, models.plane_statistics.std,
                                                   refine)
        scored = judged(models, planes, camera, render)
        frontal = scored.frontal  # (24, H, W, 4)
        rows.append(torch.cat(list(frontal[:12]), dim=1))
        embedded = image_embeddings(models.clip, frontal[..., :3] * frontal[..., 3:],
                                    frontal[..., 3])
        row = agreement_with(heldout, scored.predicted)
        result[name] = {**row, "cosine_to_e": float((embedded * targets).sum(1).mean()),
                        "settings": None if overrides is None else json.loads(overrides),
                        "seconds": time.perf_counter() - begun}
        print(name, json.dumps(result[name]), flush=True)
    result["seconds"] = time.perf_counter() - started
    if args.sheet is not None:
        sheet = torch.cat(rows, dim=0)
        rgb = sheet[..., :3] * sheet[..., 3:] + (1 - sheet[..., 3:])  # on white
        Image.fromarray((rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()).save(args.sheet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
