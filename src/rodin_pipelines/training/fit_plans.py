"""The fit stage's two phases planned from its ``fit`` parameter block: phase 1 (the shared
decoder with the first training avatars' tri-planes) and phase 2 (every other avatar's
tri-plane, decoder frozen), both deferred behind fingerprints so reruns resume."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.avatars.scene import SceneSettings
from rodin_pipelines.avatars.splits import split_ids
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.fit_targets import AvatarFitTargets
from rodin_pipelines.triplane.decoder import DecoderConfig
from rodin_pipelines.triplane.fitting import FitSettings, mean_planes
from rodin_pipelines.triplane.plane_jobs import PlaneFitBatch, PlaneFitJob, plane_fit_fingerprint
from rodin_pipelines.triplane.shared_decoder import (
    SharedDecoderFit,
    SharedDecoderJob,
    shared_decoder_job,
)


def fit_settings(fit: dict[str, Any], phase: str) -> FitSettings:
    """The :class:`FitSettings` of ``phase`` (``phase1``/``phase2``) from the ``fit`` block."""
    block = dict(fit[phase]["settings"])
    render = VolumeRenderSettings(jitter=True, **block.pop("render"))
    return FitSettings(resolution=fit["resolution"], channels=fit["decoder"]["channels"],
                       render=render, **block)


def plan_shared_decoder(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                        fit: dict[str, Any], scene: SceneSettings | None) -> SharedDecoderJob:
    """Phase 1 over the first ``fit.phase1.avatars`` training avatars (deferred, resumable);
    ``scene`` rebuilds procedural avatars' scenes for 3D supervision (``None``: off)."""
    chosen = split_ids(avatar_index, "train", avatars)[: fit["phase1"]["avatars"]]
    if not chosen:
        raise ValueError("no training avatars to fit: run `kedro run --pipeline render` first")
    return shared_decoder_job(
        avatar_folders={i: str(avatars[i].folder) for i in chosen},
        avatar_fingerprints={i: str(avatars[i].meta().get("fingerprint")) for i in chosen},
        decoder_config=DecoderConfig(**fit["decoder"]),
        settings=fit_settings(fit, "phase1"),
        load_target=AvatarFitTargets(scene),
        steps=fit["phase1"]["steps"],
        avatars_per_step=fit["phase1"]["avatars_per_step"],
        seed=fit["seed"],
    )


def plan_plane_fits(avatars: dict[str, AvatarFolderReader], shared_decoder: SharedDecoderFit,
                    fit: dict[str, Any], scene: SceneSettings | None) -> PlaneFitBatch:
    """Phase 2 for every avatar (train and held out); phase-1 avatars keep their planes."""
    settings = fit_settings(fit, "phase2")
    decoder_hash = shared_decoder.fingerprint
    jobs = tuple(
        PlaneFitJob(
            avatar_id=avatar_id,
            avatar_folder=str(reader.folder),
            fingerprint=plane_fit_fingerprint(
                decoder_hash, settings, fit["phase2"]["steps"],
                str(reader.meta().get("fingerprint")), fit["seed"] + number, scene is not None,
                fit["phase2"]["avatars_per_step"],
            ),
            seed=fit["seed"] + number,
        )
        for number, (avatar_id, reader) in enumerate(sorted(avatars.items()))
    )
    return PlaneFitBatch(
        jobs=jobs,
        decoder_config=shared_decoder.decoder.config,
        decoder_state={k: v.clone() for k, v in shared_decoder.decoder.state_dict().items()},
        settings=settings,
        steps=fit["phase2"]["steps"],
        load_target=AvatarFitTargets(scene),
        processes=fit["phase2"]["processes"],
        avatars_per_step=fit["phase2"]["avatars_per_step"],
        threads_per_process=fit["phase2"]["threads_per_process"],
        precomputed=dict(shared_decoder.planes),
        start=mean_planes(list(shared_decoder.planes.values())) if fit["phase2"]["start_from_mean"]
        else None,
    )
