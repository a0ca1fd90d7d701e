"""Write an avatar folder as a NeRF-synthetic scene, for other NeRF tools (and round trips).

Layout as the public NeRF-synthetic sets: ``transforms_train.json`` / ``transforms_test.json``
with ``file_path`` like ``./train/r_0`` (no extension) and RGBA PNGs under ``train/``, ``test/``.
The frontal view goes with the training views. Every file is written atomically, each split's
JSON after its pictures, so a JSON never names a picture that is not complete.
"""

from __future__ import annotations

from pathlib import Path

from rodin_pipelines.atomic_files import atomic_write_json, atomic_write_png
from rodin_pipelines.avatars.folder import FRONTAL_SPLIT, TEST_SPLIT, TRAIN_SPLIT, AvatarViews

NERF_SYNTHETIC_SPLITS = {TRAIN_SPLIT: (TRAIN_SPLIT, FRONTAL_SPLIT), TEST_SPLIT: (TEST_SPLIT,)}
"""Which of our frame splits go into each NeRF-synthetic split file."""


def export_nerf_synthetic(avatar: AvatarViews, folder: str | Path) -> Path:
    """Write ``avatar`` under ``folder`` in NeRF-synthetic form; returns ``folder``."""
    folder = Path(folder)
    pixels = (avatar.images.clamp(0, 1) * 255).round().byte().numpy()
    for split, ours in NERF_SYNTHETIC_SPLITS.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        frames = []
        indices = [i for i, f in enumerate(avatar.transforms.frames) if f.split in ours]
        for number, index in enumerate(indices):
            atomic_write_png(folder / split / f"r_{number}.png", pixels[index])
            frames.append({
                "file_path": f"./{split}/r_{number}",
                "transform_matrix": avatar.transforms.frames[index].camera_to_world.tolist(),
            })
        atomic_write_json(folder / f"transforms_{split}.json",
                          {"camera_angle_x": avatar.transforms.fov_x, "frames": frames})
    return folder
