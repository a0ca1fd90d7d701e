"""Does the shared decoder turn small plane errors into floaters? (issue 16, the specks)

    python benchmarks/generation/decoder_robustness.py [--avatars 12] [--env base] [--out FILE]

Run from the project root after `kedro run --pipeline fit`. The first ``--avatars`` held-out
avatars' fitted tri-planes, plus white Gaussian noise of each relative size (times the plane
statistics' channel std, the space the diffusion models work in), rendered from their held-out
cameras: PSNR against the ground-truth views, and the mean opacity the render puts outside each
view's ground-truth silhouette dilated by two pixels (`evaluation.floaters`). A decoder that made floaters
out of small errors would show the stray opacity rise with the noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from project_catalog import benchmark_parser, catalog_entries
from rodin_pipelines.avatars.folder import TEST_SPLIT
from rodin_pipelines.avatars.splits import heldout_first
from rodin_pipelines.evaluation.fit_report import render_planes
from rodin_pipelines.evaluation.floaters import opacity_outside, silhouette_union
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings

NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3)
DILATION_PIXELS = 2


def stray_opacity(rendered: torch.Tensor, truth: torch.Tensor) -> float:
    """Mean over views of ``rendered``'s alpha ``(V, H, W, 4)`` outside ``truth``'s dilated
    silhouette in the same view."""
    return float(np.mean([opacity_outside(view[None], silhouette_union(true[None], DILATION_PIXELS))
                          for view, true in zip(rendered, truth)]))


def main() -> None:
    parser = benchmark_parser(__doc__, Path("benchmarks/results/decoder_robustness.json"))
    parser.add_argument("--avatars", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(2)
    loaded, params = catalog_entries(args.env, ["avatars", "triplanes", "shared_decoder",
                                                "plane_statistics", "avatar_index"])
    avatars, triplanes = loaded["avatars"], loaded["triplanes"]
    decoder = loaded["shared_decoder"].decoder
    channel_std = loaded["plane_statistics"].std[None, :, None, None]  # (1, C, 1, 1)
    chosen = heldout_first(loaded["avatar_index"], set(avatars) & set(triplanes))[: args.avatars]
    evaluation = params["fit"]["evaluation"]
    render = VolumeRenderSettings(coarse_samples=evaluation["coarse_samples"],
                                  fine_samples=evaluation["fine_samples"])
    generators = {noise: torch.Generator().manual_seed(0) for noise in NOISE_LEVELS}
    scores: dict[float, dict[str, list[float]]] = {n: {"psnr": [], "stray_opacity": []}
                                                   for n in NOISE_LEVELS}
    for avatar_id in chosen:
        avatar = avatars[avatar_id]()
        planes, _ = triplanes[avatar_id]()
        held_out = avatar.split_indices(TEST_SPLIT)
        truth = avatar.images[held_out]
        for noise in NOISE_LEVELS:
            noise_draw = torch.randn(planes.shape, generator=generators[noise])
            rendered = render_planes(planes + noise * channel_std * noise_draw, decoder, avatar,
                                     held_out, render)
            scores[noise]["psnr"].append(view_psnr(rendered, truth))
            scores[noise]["stray_opacity"].append(stray_opacity(rendered, truth))
    result = {str(noise): {name: float(np.mean(values)) for name, values in measured.items()}
              for noise, measured in scores.items()}
    print(json.dumps(result, indent=2))
    args.out.write_text(json.dumps({"avatars": len(chosen), "noise": result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
