"""The Blender backend: the same attribute sets and cameras, rendered by Cycles in worker processes.

For each avatar the main process writes the scene (attribute set, part meshes, lights, Cycles
settings; :mod:`blender_scene`) and splits the views among ``workers`` processes, each one Blender
(``bpy``) running ``blender_worker.py`` from the Blender environment (:mod:`blender_env`). They
answer with PNGs and a ``transforms.json``, which are read back through the project's one
transforms reader, so the avatar folder is written exactly as with the built-in backend and the
render stage's resumability (the fingerprint in ``meta.json``) applies unchanged.

Built from config (``render.backend`` naming this class, its settings in
``render.backends.blender``); nothing runs until :meth:`BlenderAvatarRenderer.render`, which fails
with the command to run when the Blender environment is missing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from rodin_pipelines.avatars.attributes import AvatarAttributes
from rodin_pipelines.avatars.backends.blender_env import (
    BPY_REQUIREMENT,
    DEFAULT_ENVIRONMENT,
    require_environment,
)
from rodin_pipelines.avatars.backends.blender_scene import (
    SCENE_FORMAT,
    part_meshes_from_attributes,
    write_scene,
)
from rodin_pipelines.avatars.folder import read_frame_images
from rodin_pipelines.avatars.scene import SceneSettings, scene_settings
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.transforms_json import (
    Frame,
    Transforms,
    read_transforms,
    write_transforms,
)

WORKER_SCRIPT = Path(__file__).with_name("blender_worker.py")
CAMERA_TOLERANCE = 1e-4
"""How far a camera the worker reports may be from the one it was given (float round trips)."""
LOG_TAIL_LINES = 30
POLL_SECONDS = 0.1


class BlenderWorkerFailed(RuntimeError):
    """A Blender worker exited with an error, timed out, or answered inconsistently."""


class BlenderAvatarRenderer:
    """Renders attribute sets to RGBA images with Blender Cycles on the CPU.

    Args:
        scene: the shared scene settings (``render.scene``); Blender takes their lights and
            meshes the parts itself (``mesh_resolution``), so the rest does not change it.
        environment: the Blender virtual environment (relative paths from the working directory,
            i.e. the project root under ``kedro run``).
        samples: Cycles samples per pixel (the upper bound: sampling is adaptive).
        adaptive_threshold: noise level at which a pixel stops sampling.
        denoise: run OpenImageDenoise (CPU) on each view.
        max_bounces: light bounces.
        mesh_resolution: grid points per side for the part meshes (G); about 2x the image size
            keeps thin parts such as glasses frames.
        workers: Blender processes per avatar (its views are split among them).
        threads_per_worker: Cycles threads per process; None divides the CPU cores among them.
        seed: Cycles' sampling seed (same seed, same noise).
        timeout_seconds: a worker running longer is killed and the render fails.
        progress: show a per-view progress bar.
    """

    name = "blender"

    def __init__(
        self,
        scene: SceneSettings | Mapping[str, Any] | None = None,
        environment: str = str(DEFAULT_ENVIRONMENT),
        samples: int = 16,
        adaptive_threshold: float = 0.05,
        denoise: bool = True,
        max_bounces: int = 4,
        mesh_resolution: int = 128,
        workers: int = 2,
        threads_per_worker: int | None = None,
        seed: int = 0,
        timeout_seconds: float = 600.0,
        progress: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.environment = Path(environment)
        self.render_settings = {
            "samples": samples, "adaptive_threshold": adaptive_threshold, "denoise": denoise,
            "max_bounces": max_bounces, "seed": seed,
        }
        self.mesh_resolution = mesh_resolution
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.timeout_seconds = timeout_seconds
        self.progress = progress
        self.lighting = scene_settings(scene).lighting

    def describe(self) -> dict[str, Any]:
        """Everything that changes the pixels, for fingerprints and logs (not the parallelism)."""
        return {
            "backend": self.name,
            "bpy": BPY_REQUIREMENT,
            "scene_format": SCENE_FORMAT,
            "mesh_resolution": self.mesh_resolution,
            **self.render_settings,
        }

    def render(self, attributes: AvatarAttributes, cameras: Cameras) -> Tensor:
        """Straight-alpha RGBA images ``(V, H, W, 4)`` of one avatar from every camera."""
        python = require_environment(self.environment)
        with tempfile.TemporaryDirectory(prefix="rodin-blender-") as job:
            job_folder = Path(job)
            meshes = part_meshes_from_attributes(attributes, self.mesh_resolution)
            scene_file = write_scene(job_folder, attributes, meshes, self.lighting,
                                     self.render_settings)
            chunks = [c for c in np.array_split(np.arange(len(cameras)), self.workers) if len(c)]
            outputs = [job_folder / f"worker{k}" for k in range(len(chunks))]
            commands = []
            for k, (chunk, output) in enumerate(zip(chunks, outputs)):
                request = job_folder / f"cameras{k}.json"
                write_transforms(request, _request_transforms(cameras, chunk))
                commands.append([str(python), "-I", str(WORKER_SCRIPT), "--scene", str(scene_file),
                                 "--cameras", str(request), "--output", str(output),
                                 "--threads", str(self._threads(len(chunks)))])
            self._run_workers(commands, job_folder, outputs, len(cameras))
            return _read_answers(outputs, chunks, cameras)

    def _threads(self, processes: int) -> int:
        if self.threads_per_worker is not None:
            return self.threads_per_worker
        return max(1, (os.cpu_count() or 1) // processes)

    def _run_workers(self, commands: list[list[str]], job_folder: Path, outputs: list[Path],
                     views: int) -> None:
        """Run the workers side by side; a progress bar counts finished views."""
        logs = [job_folder / f"worker{k}.log" for k in range(len(commands))]
        processes = []
        for command, log in zip(commands, logs):
            with open(log, "wb") as stream:  # the child keeps its own handle
                processes.append(subprocess.Popen(command, stdout=stream,
                                                  stderr=subprocess.STDOUT))
        started = time.monotonic()
        bar = tqdm(total=views, desc="blender views", unit="view", leave=False,
                   disable=not self.progress)
        try:
            while any(process.poll() is None for process in processes):
                if time.monotonic() - started > self.timeout_seconds:
                    late = next(log for process, log in zip(processes, logs)
                                if process.poll() is None)
                    raise BlenderWorkerFailed(
                        f"a Blender worker ran over {self.timeout_seconds} s (timeout_seconds)"
                        f"; its log ends:\n{_tail(late)}")
                done = sum(len(list(output.glob("images/*.png"))) for output in outputs)
                bar.update(done - bar.n)
                time.sleep(POLL_SECONDS)
            bar.update(views - bar.n)
        finally:
            bar.close()
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        for process, log in zip(processes, logs):
            if process.returncode != 0:
                raise BlenderWorkerFailed(
                    f"Blender worker exited with code {process.returncode}; its log ends:\n"
                    f"{_tail(log)}")


def _request_transforms(cameras: Cameras, chunk: np.ndarray) -> Transforms:
    """The cameras of one worker's views, in the NeRF-synthetic form (``images/<view>``)."""
    frames = tuple(Frame(f"images/{int(i):03d}", cameras.camera_to_world[int(i)].cpu())
                   for i in chunk)
    return Transforms(cameras.fov_x, frames, cameras.width, cameras.height)


def _read_answers(outputs: list[Path], chunks: list[np.ndarray], cameras: Cameras) -> Tensor:
    """The workers' images in view order, after checking they rendered the cameras asked for."""
    images = []
    for output, chunk in zip(outputs, chunks):
        answer = read_transforms(output / "transforms.json")
        seen = torch.stack([frame.camera_to_world for frame in answer.frames])
        asked = cameras.camera_to_world[torch.as_tensor(chunk)].cpu().float()
        error = (seen - asked).abs().max().item()
        if len(answer.frames) != len(chunk) or error > CAMERA_TOLERANCE or \
                abs(answer.fov_x - cameras.fov_x) > CAMERA_TOLERANCE:
            raise BlenderWorkerFailed(
                f"{output}: the worker rendered other cameras than asked (max matrix error "
                f"{error:.3g}, fov {answer.fov_x} vs {cameras.fov_x})")
        images.append(read_frame_images(output, answer))
    return torch.cat(images)


def _tail(log: Path) -> str:
    if not log.is_file():
        return "(no log)"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:])
