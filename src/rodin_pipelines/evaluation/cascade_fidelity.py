"""Does a conditional sample reproduce the avatar whose latent it was given?

Two measures that need no learned judge, used by the memorise-8 check and the "each model alone"
benchmarks: the rank of a sample's own avatar among candidate tri-planes (normalised MSE on the
rolled-out maps), and the PSNR of the sample's frontal render against the fitted tri-plane's.
"""

from __future__ import annotations

from torch import Tensor

from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.triplane.decoder import TriplaneDecoder
from rodin_pipelines.triplane.field import render_triplanes


def own_rank_by_mse(samples: Tensor, candidates: Tensor, own: Tensor) -> Tensor:
    """Rank (0 = nearest) of each sample's own candidate by mean squared error.

    Args:
        samples: ``(B, C, r, 3r)`` normalised roll-outs generated for ``B`` latents.
        candidates: ``(N, C, r, 3r)`` normalised roll-outs of the avatars to choose among.
        own: ``(B,)`` index into ``candidates`` of each sample's own avatar.
    Returns ``(B,)`` long: how many candidates are strictly nearer than the own one.
    """
    errors = (samples[:, None] - candidates[None]).pow(2).flatten(2).mean(2)  # (B, N)
    own_error = errors.gather(1, own[:, None])
    return (errors < own_error).sum(1)


def frontal_psnr_per_avatar(sample_planes: Tensor, truth_planes: Tensor,
                            decoder: TriplaneDecoder, camera: Cameras,
                            render: VolumeRenderSettings) -> list[float]:
    """PSNR (dB, white background) of each sample's render against its truth's render.

    Both ``(B, 3, C, R, R)`` de-normalised tri-planes are rendered by the same decoder from the
    same single ``camera`` (the frontal view), so only the planes differ.
    """
    if sample_planes.shape != truth_planes.shape:
        raise ValueError(f"samples {tuple(sample_planes.shape)} and truths "
                         f"{tuple(truth_planes.shape)} must have one shape")
    samples = render_triplanes(sample_planes, decoder, camera, render)[:, 0]
    truths = render_triplanes(truth_planes, decoder, camera, render)[:, 0]
    return [view_psnr(s[None], t[None]) for s, t in zip(samples, truths)]


def top1(ranks: Tensor) -> float:
    """Share of samples whose own avatar is the nearest (rank 0)."""
    return float((ranks == 0).float().mean()) if ranks.numel() else float("nan")


