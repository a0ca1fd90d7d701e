"""Kedro datasets of the fit stage: the shared decoder, the tri-plane folder, tensor files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import Tensor

from rodin_pipelines.atomic_files import (
    TEMPORARY_PREFIX, atomic_directory, atomic_write_bytes, atomic_write_json,
)
from rodin_pipelines.triplane.normalisation import PlaneStatistics
from rodin_pipelines.triplane.plane_jobs import (
    TRIPLANE_SUFFIX,
    PlaneFitBatch,
    PlaneFitReport,
    run_plane_fits,
)
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit, SharedDecoderJob
from rodin_pipelines.triplane.storage import load_decoder, load_triplane, save_decoder

PHASE_ONE_PLANES = "phase1_planes.safetensors"
JOB_FILE = "phase1.json"


class SharedDecoderDataset(AbstractDataset[SharedDecoderJob, SharedDecoderFit]):
    """``<path>/decoder.safetensors|json``, the phase-1 planes and ``phase1.json`` (fingerprint,
    timing, loss history). Saving a job with the fingerprint already on disk does nothing."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> SharedDecoderFit:
        decoder = load_decoder(self._path)
        planes = load_safetensors_bytes((self._path / PHASE_ONE_PLANES).read_bytes())
        job = json.loads((self._path / JOB_FILE).read_text(encoding="utf-8"))
        return SharedDecoderFit(decoder, planes, job["history"], job["fingerprint"],
                                job["seconds"])

    def save(self, data: SharedDecoderJob) -> None:
        if self._stored_fingerprint() == data.fingerprint:
            return
        fit = data.build()
        # The folder is swapped in whole: the old phase1.json never stands beside a new decoder
        # (a kill midway would otherwise leave its fingerprint vouching for the wrong weights).
        with atomic_directory(self._path) as staging:
            save_decoder(staging, fit.decoder)
            planes = {k: v.contiguous() for k, v in fit.planes.items()}
            atomic_write_bytes(staging / PHASE_ONE_PLANES, save_safetensors_bytes(planes))
            # Written last: its fingerprint vouches for the files above.
            atomic_write_json(staging / JOB_FILE, {
                "fingerprint": fit.fingerprint, "seconds": fit.seconds, "history": fit.history,
            })

    def _stored_fingerprint(self) -> str | None:
        try:
            return json.loads((self._path / JOB_FILE).read_text(encoding="utf-8"))["fingerprint"]
        except (OSError, ValueError, KeyError):
            return None

    def _exists(self) -> bool:
        return self._stored_fingerprint() is not None

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


class TriplaneFolderDataset(AbstractDataset[PlaneFitBatch, dict[str, Callable[[], tuple]]]):
    """``<path>/<avatar_id>.safetensors``: saving runs phase 2 (resumable, sharded), loading
    gives lazy readers of ``(planes (3, C, R, R), metadata)`` by avatar id."""

    def __init__(self, path: str, progress: bool = True,
                 metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self._progress = progress
        self.metadata = metadata
        self.last_save: PlaneFitReport | None = None

    def load(self) -> dict[str, Callable[[], tuple[Tensor, dict[str, str]]]]:
        files = sorted(p for p in self._path.glob(f"*{TRIPLANE_SUFFIX}")
                       if not p.name.startswith(TEMPORARY_PREFIX))
        return {p.name[: -len(TRIPLANE_SUFFIX)]: (lambda p=p: load_triplane(p)) for p in files}

    def save(self, data: PlaneFitBatch) -> None:
        self.last_save = run_plane_fits(data, self._path, progress=self._progress)

    def _exists(self) -> bool:
        return any(self._path.glob(f"*{TRIPLANE_SUFFIX}"))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


class TensorFileDataset(AbstractDataset[dict[str, Tensor], dict[str, Tensor]]):
    """A dict of named tensors in one safetensors file (e.g. plane statistics)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Tensor]:
        return load_safetensors_bytes(self._filepath.read_bytes())

    def save(self, data: dict[str, Tensor]) -> None:
        tensors = {k: v.detach().contiguous().cpu() for k, v in data.items()}
        atomic_write_bytes(self._filepath, save_safetensors_bytes(tensors))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class PlaneStatisticsDataset(TensorFileDataset):
    """:class:`PlaneStatistics` as a safetensors file of ``mean``, ``std`` and ``count``."""

    def load(self) -> PlaneStatistics:  # type: ignore[override]
        return PlaneStatistics.from_dict(super().load())

    def save(self, data: PlaneStatistics) -> None:  # type: ignore[override]
        super().save(data.to_dict())
