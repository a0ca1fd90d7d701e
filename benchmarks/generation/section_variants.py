"""One section of the evaluate stage's generation benchmark (the edit "with red hair" on 16
held-out avatars, the 48 text prompts, or the 24 conditional samples) under other settings, on the
trained models (issue 16).

    python benchmarks/generation/section_variants.py NAME=OVERRIDES [NAME=OVERRIDES ...]
        [--section edit|text|conditional] [--env base] [--out FILE] [--sheets FOLDER]

Each OVERRIDES is a JSON object merged into `evaluate.generation.edit.refine`, e.g.
`hold='{"hold_below_height": -0.5}'`, with an `"edit"` object for the edit block itself
(`latent='{"steps": 0, "edit": {"strength": 1.5}}'`), a `"sampling"` object for the cascade's
sampling (`evaluate.generation.sampling`, e.g. `{"sampling": {"guidance_scale": 3}}`; the edit
section samples with `evaluate.generation.edit.sampling` over it: `{"edit": {"sampling": {...}}}`) and a
`"prior_sampling"` object for the prior's (`encoder.prior.sampling`); `default='{}'` runs the
configured settings (what `kedro run --pipeline evaluate` measures). Run from the project root
after `kedro run`: models, judge and held-out avatars come from the catalog, and the scoring is
the section of `evaluation.generation_report` itself. Per variant: its metrics (for the edit red
hair among the avatars whose hair shows and clothing colour kept among all) and seconds; for the
edit `--sheets` writes before/after rows (first 8 avatars) as one PNG per variant. JSON to
benchmarks/results/<section>_variants.json (or --out).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from project_catalog import benchmark_parser, generation_models

from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.evaluation.generation_benchmark import with_judge
from rodin_pipelines.evaluation.generation_report import (BenchmarkSettings, GenerationReport,
                                                          conditional_section, edit_section,
                                                          frontal_camera_of, heldout_avatars,
                                                          text_section)
from rodin_pipelines.rendering.camera_rig import CameraRig

NAMES = ["avatars", "avatar_index", "attribute_judge"]


def on_white(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:] / 255.0
    return (rgba[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--section", choices=["edit", "text", "conditional"], default="edit")
    parser.add_argument("--sheets", type=Path, default=None)
    args = parser.parse_args()
    models, loaded, params = generation_models(args.env, NAMES)
    models = with_judge(models, loaded["attribute_judge"])
    ids = split_ids(loaded["avatar_index"], "heldout", loaded["avatar_embeddings"])
    avatars = heldout_avatars(loaded["avatars"], ids, loaded["avatar_embeddings"])
    camera = frontal_camera_of(loaded["avatars"][ids[0]])
    rig = CameraRig(**params["render"]["camera_rig"])
    results = {}
    for variant in args.variants:
        name, _, overrides = variant.partition("=")
        evaluate = copy.deepcopy(params["evaluate"])
        changes = json.loads(overrides or "{}")
        encoder = copy.deepcopy(params["encoder"])
        evaluate["generation"]["edit"].update(changes.pop("edit", {}))
        evaluate["generation"]["sampling"].update(changes.pop("sampling", {}))
        encoder["prior"]["sampling"].update(changes.pop("prior_sampling", {}))
        evaluate["generation"]["edit"]["refine"].update(changes)
        settings = BenchmarkSettings.from_config(params["diffusion"], encoder, evaluate)
        report = GenerationReport(metrics={})
        started = time.perf_counter()
        if args.section == "edit":
            edit_section(models, avatars, camera, rig, settings, report)
        elif args.section == "text":
            text_section(models, avatars, camera, settings, report)
        else:
            conditional_section(models, avatars, camera, settings, report)
        results[name] = {**report.metrics, "edit": evaluate["generation"]["edit"],
                         "sampling": vars(settings.sampling),
                         "prior_sampling": vars(settings.prior_sampling),
                         "seconds": time.perf_counter() - started}
        print(name, json.dumps(report.metrics), flush=True)
        if args.sheets is not None and args.section == "edit":
            args.sheets.mkdir(parents=True, exist_ok=True)
            befores = sorted(p for p in report.pictures if p.endswith(".before.png"))[:8]
            rows = [np.concatenate([on_white(report.pictures[p.replace(".before", kind)])
                                    for p in befores], axis=1) for kind in (".before", ".after")]
            Image.fromarray(np.concatenate(rows, axis=0)).save(args.sheets / f"{name}.png")
    out = args.out or Path(f"benchmarks/results/{args.section}_variants.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
