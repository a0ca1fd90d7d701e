"""Does the shared decoder turn small plane errors into floaters? (issue 16, the specks)

    python benchmarks/generation/decoder_robustness.py [--avatars 12] [--env base] [--out FILE]

Run from the project root after `kedro run --pipeline fit`. The first ``--avatars`` held-out
avatars' fitted tri-planes, plus white Gaussian noise of each relative size (times the plane
statistics' channel std, the space the diffusion models work in), rendered from their held-out
cameras: PSNR against the ground-truth views, and the mean opacity the render puts where the
ground truth is empty (its alpha, dilated by two pixels, under 0.01). A decoder that made floaters
out of small errors would show the stray opacity rise with the noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from project_catalog import benchmark_parser, catalog_entries
from rodin_pipelines.avatars.folder import TEST_SPLIT
from rodin_pipelines.avatars.splits import heldout_first
from rodin_pipelines.evaluation.fit_report import render_planes
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings

NOISE_LEVELS = (0.0, 0.1, 0.2, 0.3)
EMPTY_ALPHA = 0.01
DILATION_PIXELS = 2


def stray_opacity(rendered: torch.Tensor, truth: torch.Tensor) -> float:
    """Mean alpha of ``rendered`` ``(V, H, W, 4)`` where ``truth``'s dilated alpha is empty."""
    size = 2 * DILATION_PIXELS + 1
    covered = F.max_pool2d(truth[..., 3][:, None], size, 1, DILATION_PIXELS)[:, 0]
    return float(rendered[..., 3][covered < EMPTY_ALPHA].mean())


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
    result: dict[str, dict[str, float]] = {}
    for noise in NOISE_LEVELS:
        generator = torch.Generator().manual_seed(0)
        psnrs, strays = [], []
        for avatar_id in chosen:
            avatar = avatars[avatar_id]()
            planes, _ = triplanes[avatar_id]()
            held_out = avatar.split_indices(TEST_SPLIT)
            truth = avatar.images[held_out]
            noisy = planes + noise * channel_std * torch.randn(planes.shape, generator=generator)
            rendered = render_planes(noisy, decoder, avatar, held_out, render)
            psnrs.append(view_psnr(rendered, truth))
            strays.append(stray_opacity(rendered, truth))
        result[str(noise)] = {"psnr": sum(psnrs) / len(psnrs),
                              "stray_opacity": sum(strays) / len(strays)}
        print(noise, result[str(noise)], flush=True)
    args.out.write_text(json.dumps({"avatars": len(chosen), "noise": result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
