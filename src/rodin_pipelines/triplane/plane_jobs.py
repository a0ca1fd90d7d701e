"""Phase 2 at scale: fit every avatar's tri-plane, sharded across processes, resumably.

Each avatar is one :class:`PlaneFitJob` (plain data, so it crosses process boundaries). Work is
split round-robin by rank: under ``torchrun``/SLURM with ``torch.distributed`` initialised the
launcher's ranks are used (GPUs and nodes); on a CPU machine ``processes > 1`` spawns that many
gloo workers. Every file is written atomically and carries the fingerprint of what produced it,
so a rerun skips avatars already fitted with the same decoder, settings and images.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from rodin_pipelines.atomic_files import remove_stale_temporaries
from rodin_pipelines.fingerprints import json_fingerprint
from rodin_pipelines.sharding import Shard, in_torchrun_group
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder, decoder_fingerprint
from rodin_pipelines.triplane.fitting import FitSettings, fit_planes
from rodin_pipelines.triplane.storage import (
    DECODER_FINGERPRINT_KEY,
    FIT_FINGERPRINT_KEY,
    read_triplane_metadata,
    save_triplane,
)
from rodin_pipelines.triplane.supervision import FitTargetLoader

logger = logging.getLogger(__name__)

TRIPLANE_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class PlaneFitJob:
    """One avatar to fit: where its views are and the fingerprint of the wanted result."""

    avatar_id: str
    avatar_folder: str
    fingerprint: str
    seed: int


@dataclass(frozen=True)
class PlaneFitBatch:
    """Everything phase 2 needs, as plain data.

    Attributes:
        jobs: one per avatar.
        decoder_config: the frozen shared decoder's architecture.
        decoder_state: its weights (plain tensors, so workers rebuild it without pickled code).
        settings: fit settings of phase 2.
        steps: optimisation steps per avatar.
        load_target: reads an avatar folder's fit target (views, and a procedural scene for 3D
            supervision where configured).
        processes: CPU worker processes when not launched by torchrun (1: in this process).
        avatars_per_step: avatars fitted together in one batch (independent losses, shared
            tensors; faster on a CPU than one by one).
        threads_per_process: torch intra-op threads of each worker.
        precomputed: planes already fitted in phase 1, written as they are.
        start: where every phase-2 fit starts (the mean phase-1 tri-plane), ``None``: random.
    """

    jobs: tuple[PlaneFitJob, ...]
    decoder_config: DecoderConfig
    decoder_state: dict[str, torch.Tensor]
    settings: FitSettings
    steps: int
    load_target: FitTargetLoader
    processes: int = 1
    avatars_per_step: int = 1
    threads_per_process: int = 1
    precomputed: dict[str, torch.Tensor] = field(default_factory=dict)
    start: torch.Tensor | None = None


@dataclass(frozen=True)
class PlaneFitReport:
    written: tuple[str, ...]
    skipped: tuple[str, ...]
    seconds: float


def plane_fit_fingerprint(decoder_hash: str, settings: FitSettings, steps: int,
                          avatar_fingerprint: str, seed: int, supervised_3d: bool,
                          avatars_per_step: int = 1) -> str:
    """Hash of everything that determines a fitted tri-plane (up to which avatars share its
    batch, which changes the random draws but not what is fitted)."""
    return json_fingerprint({"decoder": decoder_hash, "settings": asdict(settings),
                             "steps": steps, "avatar": avatar_fingerprint, "seed": seed,
                             "3d": supervised_3d, "per_step": avatars_per_step}, default=str)


def is_fitted(path: Path, fingerprint: str) -> bool:
    """Whether ``path`` holds a tri-plane produced by exactly this job."""
    if not path.is_file():
        return False
    try:
        return read_triplane_metadata(path).get(FIT_FINGERPRINT_KEY) == fingerprint
    except (OSError, ValueError) as error:  # InputDataError too: a damaged file is refitted
        logger.warning("%s is unreadable or damaged (%s); it will be fitted again", path, error)
        return False


def fit_and_write(jobs: list[PlaneFitJob], batch: PlaneFitBatch, decoder: TriplaneDecoder,
                  root: Path, shard: Shard = Shard(), decoder_hash: str | None = None) -> None:
    """Fit a few avatars together with the frozen decoder; write ``<root>/<id>.safetensors``
    for each (phase-1 avatars are written as they are). ``decoder_hash`` is the decoder's
    fingerprint when the caller already has it (it hashes every weight)."""
    decoder_hash = decoder_hash or decoder_fingerprint(decoder)
    started = time.perf_counter()
    fresh = [job for job in jobs if job.avatar_id not in batch.precomputed]
    fitted = dict(batch.precomputed)
    if fresh:
        targets = [batch.load_target(job.avatar_folder) for job in fresh]
        planes = fit_planes(targets, decoder, batch.settings, batch.steps, fresh[0].seed,
                            start=batch.start)
        fitted.update({job.avatar_id: plane for job, plane in zip(fresh, planes)})
    seconds = (time.perf_counter() - started) / max(len(fresh), 1)
    for job in jobs:
        phase_one = job.avatar_id in batch.precomputed
        save_triplane(root / f"{job.avatar_id}{TRIPLANE_SUFFIX}", fitted[job.avatar_id], {
            "avatar_id": job.avatar_id,
            DECODER_FINGERPRINT_KEY: decoder_hash,
            FIT_FINGERPRINT_KEY: job.fingerprint,
            "fit_seconds": f"{0.0 if phase_one else seconds:.3f}",
            "phase": "1" if phase_one else "2",
            "shard": f"{shard.index}/{shard.count}",
            "fit_settings": json.dumps({"steps": batch.steps, "avatars_per_step":
                                        batch.avatars_per_step, **asdict(batch.settings)},
                                       default=str),
        })


def run_plane_fits(batch: PlaneFitBatch, root: str | Path, progress: bool = True
                   ) -> PlaneFitReport:
    """Fit every job not already done, in this process, its torchrun rank, or spawned workers."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    started = time.perf_counter()
    pending = [j for j in batch.jobs if not is_fitted(root / f"{j.avatar_id}{TRIPLANE_SUFFIX}",
                                                         j.fingerprint)]
    skipped = tuple(sorted({j.avatar_id for j in batch.jobs} - {j.avatar_id for j in pending}))
    _join_launcher_process_group()
    if dist.is_available() and dist.is_initialized():
        shard = Shard(dist.get_rank(), dist.get_world_size())
        _fit_shard(pending, batch, root, progress and shard.index == 0, shard)
        dist.barrier()
    elif batch.processes > 1 and len(pending) > 1:
        port = _free_port()
        torch.multiprocessing.spawn(_spawned_worker, args=(pending, batch, str(root), port),
                                    nprocs=min(batch.processes, len(pending)), join=True)
    else:
        _fit_shard(pending, batch, root, progress, Shard())
    written = tuple(sorted(j.avatar_id for j in pending))
    return PlaneFitReport(written, skipped, time.perf_counter() - started)


def _fit_shard(jobs: list[PlaneFitJob], batch: PlaneFitBatch, root: Path, progress: bool,
               shard: Shard) -> None:
    """Fit this shard's share of ``jobs`` (every ``count``-th, from ``index``)."""
    decoder = TriplaneDecoder(batch.decoder_config)
    decoder.load_state_dict(batch.decoder_state)
    decoder.eval()
    decoder_hash = decoder_fingerprint(decoder)
    mine = shard.select(jobs)
    size = max(batch.avatars_per_step, 1)
    with tqdm(total=len(mine), desc=f"fitting tri-planes -> {root}", unit="avatar",
              disable=not progress) as bar:
        for first in range(0, len(mine), size):
            group = mine[first:first + size]
            fit_and_write(group, batch, decoder, root, shard, decoder_hash)
            bar.update(len(group))


def _spawned_worker(rank: int, jobs: list[PlaneFitJob], batch: PlaneFitBatch, root: str,
                    port: int) -> None:
    world = min(batch.processes, len(jobs))
    torch.set_num_threads(batch.threads_per_process)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        _fit_shard(jobs, batch, Path(root), rank == 0, Shard(rank, world))
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _join_launcher_process_group() -> None:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) join its process group, so
    each rank fits its own share; gloo is enough, ranks only meet at a barrier."""
    if not dist.is_available() or dist.is_initialized():
        return
    if in_torchrun_group():
        dist.init_process_group("gloo", init_method="env://")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
