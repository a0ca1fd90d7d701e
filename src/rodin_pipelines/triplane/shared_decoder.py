"""Phase 1 as a job: the shared decoder and the first avatars' tri-planes, fitted together.

Deferred behind a fingerprint (settings + the avatars' own fingerprints) so that a rerun of the
fit stage reuses the decoder instead of retraining it, which would invalidate every tri-plane.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from torch import Tensor

from rodin_pipelines.fingerprints import json_fingerprint
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.fitting import FitSettings, fit_decoder_jointly
from rodin_pipelines.triplane.supervision import FitTargetLoader


@dataclass
class SharedDecoderFit:
    """The result of phase 1.

    Attributes:
        decoder: the shared decoder (frozen from now on).
        planes: fitted tri-planes ``(3, C, R, R)`` of the phase-1 avatars, by id.
        history: per-step mean losses, for curves.
        fingerprint: the job fingerprint that produced it.
        seconds: wall time of the fit.
    """

    decoder: TriplaneDecoder
    planes: dict[str, Tensor]
    history: list[dict[str, float]] = field(default_factory=list)
    fingerprint: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class SharedDecoderJob:
    """Deferred phase 1: ``build()`` runs only when no decoder with ``fingerprint`` exists."""

    fingerprint: str
    build: Callable[[], SharedDecoderFit]


def shared_decoder_job(
    avatar_folders: dict[str, str], avatar_fingerprints: dict[str, str],
    decoder_config: DecoderConfig, settings: FitSettings, load_target: FitTargetLoader,
    steps: int, avatars_per_step: int, seed: int,
) -> SharedDecoderJob:
    """Phase 1 over ``avatar_folders`` (id → folder), deferred behind its fingerprint;
    ``load_target`` reads each folder's fit target."""
    fingerprint = json_fingerprint({
        "avatars": avatar_fingerprints, "decoder": decoder_config.to_dict(),
        "settings": asdict(settings), "scene": load_target.settings(),
        "steps": steps, "per_step": avatars_per_step, "seed": seed,
    }, default=str)

    def build() -> SharedDecoderFit:
        started = time.perf_counter()
        targets = [load_target(folder) for folder in avatar_folders.values()]
        history: list[dict[str, float]] = []
        decoder, planes = fit_decoder_jointly(
            targets, decoder_config, settings, steps, avatars_per_step, seed,
            progress=lambda step, losses: history.append(losses), show_progress=True,
        )
        return SharedDecoderFit(decoder, planes, history, fingerprint,
                                time.perf_counter() - started)

    return SharedDecoderJob(fingerprint, build)
