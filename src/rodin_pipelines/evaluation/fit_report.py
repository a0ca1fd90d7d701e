"""How well tri-planes reproduce their avatars: metrics on held-out views and pictures."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from rodin_pipelines.avatars.folder import TEST_SPLIT, AvatarViews  # noqa: E402
from rodin_pipelines.evaluation.figures import figure_picture  # noqa: E402
from rodin_pipelines.evaluation.view_quality import view_psnr, view_ssim  # noqa: E402
from rodin_pipelines.rendering.compositing import straight_rgba  # noqa: E402
from rodin_pipelines.rendering.contact_sheet import flatten_rgba, image_grid  # noqa: E402
from rodin_pipelines.rendering.volume_renderer import (  # noqa: E402
    VolumeRenderSettings,
    render_cameras,
)
from rodin_pipelines.triplane.decoder import TriplaneDecoder  # noqa: E402
from rodin_pipelines.triplane.field import TriplaneField  # noqa: E402
from rodin_pipelines.triplane.rescale import down_up_sample  # noqa: E402

Renders = dict[str, tuple[Tensor, Tensor]]  # avatar id -> (truth, fitted), each (V, H, W, 4)


@torch.no_grad()
def render_planes(planes: Tensor, decoder: TriplaneDecoder, avatar: AvatarViews,
                  indices: list[int], render: VolumeRenderSettings) -> Tensor:
    """Straight RGBA ``(V, H, W, 4)`` of a tri-plane from the avatar's cameras ``indices``."""
    cameras = avatar.cameras()[torch.tensor(indices)]
    colour, opacity = render_cameras(TriplaneField(planes, decoder), cameras, render)
    return straight_rgba(colour, opacity)


def evaluate_fitted_avatars(
    avatars: dict[str, Callable[[], AvatarViews]],
    triplanes: dict[str, Callable[[], tuple[Tensor, dict[str, str]]]],
    decoder: TriplaneDecoder, render: VolumeRenderSettings, rescale_resolution: int,
) -> tuple[pd.DataFrame, Renders]:
    """PSNR and SSIM on each avatar's held-out views, also through random scaling's low
    resolution (``psnr_rescaled``: how the decoder copes with blurrier, upsampled planes)."""
    rows, renders = [], {}
    for avatar_id in tqdm(sorted(avatars), desc="evaluating fits", unit="avatar"):
        avatar = avatars[avatar_id]()
        planes, metadata = triplanes[avatar_id]()
        held_out = avatar.split_indices(TEST_SPLIT)
        truth = avatar.images[held_out]
        fitted = render_planes(planes, decoder, avatar, held_out, render)
        rescaled = render_planes(down_up_sample(planes, rescale_resolution), decoder, avatar,
                                 held_out, render)
        rows.append({
            "avatar_id": avatar_id,
            "psnr": view_psnr(fitted, truth),
            "ssim": view_ssim(fitted, truth),
            "psnr_rescaled": view_psnr(rescaled, truth),
            "fit_seconds": float(metadata.get("fit_seconds", "nan")),
            "phase": metadata.get("phase", ""),
        })
        renders[avatar_id] = (truth, fitted)
    return pd.DataFrame(rows), renders


def fit_comparison_grid(renders: Renders, avatars: int, views: int) -> np.ndarray:
    """Rows of avatars; per held-out view, ground truth then fit, side by side."""
    rows = []
    for avatar_id in sorted(renders)[:avatars]:
        truth, fitted = renders[avatar_id]
        pairs = torch.stack([truth[:views], fitted[:views]], dim=1).flatten(0, 1)
        rows.append(flatten_rgba(pairs))
    width = max(row.shape[0] for row in rows)
    rows = [torch.cat([row, torch.ones(width - row.shape[0], *row.shape[1:])]) for row in rows]
    tiles = torch.stack(rows).repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return image_grid(tiles)


def loss_curve_picture(history: list[dict[str, float]], title: str) -> np.ndarray:
    """Loss curves (log scale) of a fit's history as an RGB picture."""
    figure, axis = plt.subplots(figsize=(6, 3.5), dpi=100)
    for name in sorted({key for step in history for key in step} - {"total"}):
        values = [step.get(name, np.nan) for step in history]
        axis.plot(values, label=name, linewidth=1)
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return figure_picture(figure)
