"""The photometric-only fit of one avatar: held-out PSNR against wall time.

This is the path a user's own renders take (``kedro run --pipeline ingest``, then fit with
``fit.supervision_3d: false``): the decoder and the tri-plane are fitted jointly from the images
alone, no 3D scene. Give either an avatar folder (ours or imported) or a NeRF-synthetic scene,
which goes through the importer first::

    python benchmarks/photometric_fit.py --avatar data/01_raw/avatars/avatar_000009
    python benchmarks/photometric_fit.py --nerf-synthetic /path/to/scene --image-size 64

Writes ``benchmarks/results/photometric_fit.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rodin_pipelines.avatars.folder import TEST_SPLIT, read_avatar_folder
from rodin_pipelines.avatars.importer import import_nerf_synthetic
from rodin_pipelines.evaluation.fit_report import render_planes
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import DecoderConfig
from rodin_pipelines.triplane.fitting import FitSettings, fit_decoder_jointly
from rodin_pipelines.training.fit_targets import fit_target_from_views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--avatar", help="an avatar folder")
    source.add_argument("--nerf-synthetic", help="a NeRF-synthetic scene to import first")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--checkpoints", default="400,1200",
                        help="step counts; each is a separate fit, timed on its own")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--rays", type=int, default=1024)
    parser.add_argument("--output", default="benchmarks/results/photometric_fit.json")
    arguments = parser.parse_args()

    if arguments.avatar:
        avatar = read_avatar_folder(arguments.avatar)
    else:
        avatar = import_nerf_synthetic(arguments.nerf_synthetic, image_size=arguments.image_size)
    target = fit_target_from_views(avatar)  # images only: no scene, no attributes
    settings = FitSettings(resolution=arguments.resolution, channels=16,
                           rays_per_step=arguments.rays, points_per_step=0,
                           plane_learning_rate=0.03, decoder_learning_rate=3e-3,
                           render=VolumeRenderSettings(coarse_samples=32, fine_samples=16,
                                                       jitter=True))
    evaluation = VolumeRenderSettings(coarse_samples=48, fine_samples=32)
    views = avatar.split_indices(TEST_SPLIT)
    results, done = [], 0
    for checkpoint in (int(c) for c in arguments.checkpoints.split(",")):
        started = time.perf_counter()
        decoder, fitted = fit_decoder_jointly([target], DecoderConfig(channels=16, hidden=32),
                                              settings, checkpoint, avatars_per_step=1, seed=0)
        elapsed = time.perf_counter() - started
        planes = fitted[avatar.avatar_id]
        psnr = view_psnr(render_planes(planes, decoder, avatar, views, evaluation),
                         avatar.images[views])
        results.append({"steps": checkpoint, "seconds": round(elapsed, 1),
                        "held_out_psnr": round(psnr, 2)})
        print(results[-1], flush=True)
        done = checkpoint
    Path(arguments.output).parent.mkdir(parents=True, exist_ok=True)
    Path(arguments.output).write_text(json.dumps({
        "avatar": avatar.avatar_id, "image_size": avatar.images.shape[1],
        "views": len(avatar.split_indices("train")), "held_out_views": len(views),
        "steps_done": done, "results": results, "threads": torch.get_num_threads(),
    }, indent=2) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
