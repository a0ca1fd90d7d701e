"""Nodes of the ``fit`` stage: unpack parameters, call the library, return values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import trimesh

from rodin_pipelines.avatars.folder import AvatarFolderReader
from rodin_pipelines.avatars.scene import SceneSettings, scene_settings
from rodin_pipelines.avatars.splits import heldout_first
from rodin_pipelines.evaluation.fit_report import (
    evaluate_fitted_avatars,
    fit_comparison_grid,
    loss_curve_picture,
)
from rodin_pipelines.rendering.mesh_export import mesh_from_field
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training import fit_plans
from rodin_pipelines.triplane.field import TriplaneField
from rodin_pipelines.triplane.normalisation import PlaneStatistics, plane_statistics
from rodin_pipelines.triplane.plane_jobs import PlaneFitBatch
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit, SharedDecoderJob

Triplanes = dict[str, Any]  # avatar id -> lazy reader of (planes (3, C, R, R), metadata)


def supervision_scene(fit: dict[str, Any], scene: dict[str, Any]) -> SceneSettings | None:
    """How to rebuild procedural scenes for 3D supervision (``render.scene``, the settings every
    render backend draws them with), or ``None`` when it is off."""
    return scene_settings(scene) if fit["supervision_3d"] else None


def plan_shared_decoder(avatars: dict[str, AvatarFolderReader], avatar_index: pd.DataFrame,
                        fit: dict[str, Any], scene: dict[str, Any]) -> SharedDecoderJob:
    """Phase 1 over the first ``fit.phase1.avatars`` training avatars (deferred, resumable)."""
    return fit_plans.plan_shared_decoder(avatars, avatar_index, fit, supervision_scene(fit, scene))


def plan_plane_fits(avatars: dict[str, AvatarFolderReader], shared_decoder: SharedDecoderFit,
                    fit: dict[str, Any], scene: dict[str, Any]) -> PlaneFitBatch:
    """Phase 2 for every avatar (train and held out); phase-1 avatars keep their planes."""
    return fit_plans.plan_plane_fits(avatars, shared_decoder, fit, supervision_scene(fit, scene))


def evaluate_fits(avatars: dict[str, AvatarFolderReader], triplanes: Triplanes,
                  shared_decoder: SharedDecoderFit, avatar_index: pd.DataFrame,
                  evaluation: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, float], np.ndarray]:
    """Held-out-view PSNR/SSIM per avatar, their summary, and a fitted-vs-truth picture.

    Held-out avatars come first: they were never part of the decoder's phase-1 set, so their
    scores show how well any new avatar fits.
    """
    render = VolumeRenderSettings(coarse_samples=evaluation["coarse_samples"],
                                  fine_samples=evaluation["fine_samples"])
    ordered = heldout_first(avatar_index, set(avatars) & set(triplanes))
    chosen = ordered[: evaluation["avatars"]]
    table, renders = evaluate_fitted_avatars(
        {i: avatars[i] for i in chosen}, {i: triplanes[i] for i in chosen},
        shared_decoder.decoder, render, rescale_resolution=evaluation["rescale_resolution"],
    )
    summary = {
        "psnr_mean": float(table["psnr"].mean()),
        "psnr_min": float(table["psnr"].min()),
        "ssim_mean": float(table["ssim"].mean()),
        "psnr_rescaled_mean": float(table["psnr_rescaled"].mean()),
        "avatars_evaluated": float(len(table)),
        "phase1_seconds": float(shared_decoder.seconds),
        "phase2_seconds_per_avatar": float(table["fit_seconds"].mean()),
    }
    picture = fit_comparison_grid(renders, evaluation["grid_avatars"], evaluation["grid_views"])
    return table, summary, picture


def plot_phase1_losses(shared_decoder: SharedDecoderFit) -> np.ndarray:
    """The phase-1 loss curves as a picture."""
    return loss_curve_picture(shared_decoder.history, "phase 1: decoder + tri-planes")


def compute_plane_statistics(triplanes: Triplanes, avatar_index: pd.DataFrame
                             ) -> PlaneStatistics:
    """Per-channel mean and std over the training avatars' tri-planes (for diffusion)."""
    train = set(avatar_index.loc[avatar_index["split"] == "train", "avatar_id"])
    planes = [triplanes[i]()[0] for i in sorted(triplanes) if i in train]
    return plane_statistics(planes)


def export_example_meshes(triplanes: Triplanes, shared_decoder: SharedDecoderFit,
                          avatar_index: pd.DataFrame, meshes: dict[str, Any]
                          ) -> dict[str, trimesh.Trimesh]:
    """Marching-cubes meshes with vertex colours of a few fitted (held-out first) avatars."""
    chosen = heldout_first(avatar_index, set(triplanes))[: meshes["avatars"]]
    return {
        avatar_id: mesh_from_field(TriplaneField(triplanes[avatar_id]()[0],
                                                 shared_decoder.decoder),
                                   resolution=meshes["resolution"])
        for avatar_id in chosen
    }
