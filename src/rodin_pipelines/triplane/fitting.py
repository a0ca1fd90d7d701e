"""Fitting tri-planes with one shared decoder, in two phases (RodinHD's scheme, method §2).

Phase 1 fits the decoder jointly with the tri-planes of a subset of avatars, revisiting them in
random order (no sequential forgetting). Phase 2 freezes the decoder and fits every avatar's
tri-plane on its own, which is embarrassingly parallel.

Loss per avatar: photometric MSE on premultiplied colour and alpha of random training rays
(the method), plus optionally density/colour MSE at 3D points of the ground-truth scene (a CPU
accelerator for procedural avatars), plus TV and L2 on the plane features. With random scaling
the planes are sometimes decoded through a lower resolution, so the decoder learns to read the
imperfect planes an upsampler will produce.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import Tensor
from tqdm.auto import tqdm

from rodin_pipelines.rendering.ray_box import near_far_from_box
from rodin_pipelines.rendering.rays import Rays
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_rays
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.field import BatchedTriplaneField
from rodin_pipelines.triplane.sampling import sample_triplane
from rodin_pipelines.triplane.regularisers import l2_magnitude, total_variation
from rodin_pipelines.triplane.rescale import randomly_rescaled
from rodin_pipelines.triplane.supervision import FitTarget, random_point_batch, random_ray_batch

ProgressCallback = Callable[[int, dict[str, float]], None]


class NonFiniteLossError(FloatingPointError):
    """A fit produced NaN or inf; names the avatar and the step so the run can be diagnosed."""

    def __init__(self, avatar_id: str, step: int, losses: dict[str, float]) -> None:
        self.avatar_id = avatar_id
        self.step = step
        super().__init__(
            f"non-finite loss while fitting avatar {avatar_id} at step {step}: {losses}. "
            "Lower the learning rates or check the avatar's images; avatars already written "
            "are kept."
        )


@dataclass(frozen=True)
class FitSettings:
    """How tri-planes are fitted (all weights and sizes from config).

    Attributes:
        resolution: R, texels per plane side.
        channels: C, features per texel.
        rays_per_step: photometric rays per avatar per step (0 disables the term).
        foreground_fraction: share of those rays through pixels the avatar covers.
        points_per_step: 3D points per avatar per step (0 disables; needs a ground-truth scene).
        photometric_weight / volume_weight: weights of the two data terms.
        tv_weight / l2_weight: regularisers on the planes (RodinHD: 1e-2 and 1e-4).
        rescale_probability: chance per step of decoding through ``rescale_resolution``.
        rescale_resolution: low resolution of random scaling (e.g. R / 4).
        plane_learning_rate / decoder_learning_rate: Adam step sizes.
        init_scale: standard deviation of the initial plane features.
        density_step: length used to turn 3D densities into comparable opacities.
        render: sampling of photometric rays.
    """

    resolution: int = 64
    channels: int = 16
    rays_per_step: int = 512
    foreground_fraction: float = 0.0
    points_per_step: int = 4096
    photometric_weight: float = 1.0
    volume_weight: float = 1.0
    tv_weight: float = 1e-2
    l2_weight: float = 1e-4
    rescale_probability: float = 0.25
    rescale_resolution: int = 16
    plane_learning_rate: float = 0.03
    decoder_learning_rate: float = 3e-3
    init_scale: float = 0.05
    density_step: float = 0.03
    render: VolumeRenderSettings = VolumeRenderSettings(coarse_samples=32, fine_samples=16,
                                                        jitter=True)


def initial_planes(settings: FitSettings, generator: torch.Generator) -> Tensor:
    """Small random features ``(3, C, R, R)``: near zero, so planes start in one shared range."""
    shape = (3, settings.channels, settings.resolution, settings.resolution)
    return torch.randn(shape, generator=generator) * settings.init_scale


def mean_planes(planes: list[Tensor]) -> Tensor:
    """The texel-wise mean ``(3, C, R, R)`` of fitted tri-planes: an average avatar."""
    return torch.stack(planes).mean(dim=0)


def fit_losses(planes: Tensor, decoder: TriplaneDecoder, targets: list[FitTarget],
               settings: FitSettings, generator: torch.Generator) -> dict[str, Tensor]:
    """Every loss term of ``B`` avatars for one step, fitted together.

    ``planes`` is ``(B, 3, C, R, R)``, one tri-plane per target. Each entry of the result is a
    per-avatar ``(B,)`` vector; ``total`` is a scalar, the sum over avatars of their weighted
    losses (so batching leaves each avatar's gradient as if it were fitted alone).
    """
    decoded = randomly_rescaled(planes, settings.rescale_probability,
                                settings.rescale_resolution, generator)
    field = BatchedTriplaneField(decoded, decoder)
    batch = len(targets)
    per_avatar = planes.new_zeros(batch)
    losses: dict[str, Tensor] = {}
    if settings.rays_per_step > 0:
        batches = [random_ray_batch(t, settings.rays_per_step, generator,
                                    settings.foreground_fraction) for t in targets]
        rays = Rays(torch.cat([r.origins for r, _ in batches]),
                    torch.cat([r.directions for r, _ in batches]))
        expected = torch.stack([e for _, e in batches])  # (B, N, 4)
        if not bool(near_far_from_box(rays, settings.render.half_extent)[2].all()):
            raise ValueError("a training ray misses the scene cube; batched fitting needs every "
                             "ray to reach the field (sample pixels_crossing_the_cube)")
        rendered = render_rays(field, rays, replace(settings.render, chunk_rays=len(rays)),
                               generator)
        predicted = torch.cat([rendered.colour, rendered.opacity[:, None]], dim=-1)
        predicted = predicted.reshape(batch, settings.rays_per_step, 4)
        losses["photometric"] = (predicted - expected).pow(2).mean(dim=(1, 2))
        per_avatar = per_avatar + settings.photometric_weight * losses["photometric"]
    supervised = [t for t in targets if t.scene is not None]
    if settings.points_per_step > 0 and len(supervised) == batch:
        points = torch.stack([random_point_batch(t, settings.points_per_step, generator)
                              for t in targets])  # (B, P, 3)
        with torch.no_grad():
            truth = [t.scene(p) for t, p in zip(targets, points)]
        true_density = torch.stack([d for d, _ in truth])
        true_colour = torch.stack([c for _, c in truth])
        density, colour = decoder(sample_triplane(decoded, points))
        true_alpha = 1.0 - torch.exp(-true_density * settings.density_step)
        alpha = 1.0 - torch.exp(-density * settings.density_step)
        colour_error = (colour - true_colour).pow(2).mean(dim=-1)
        losses["volume"] = ((alpha - true_alpha).pow(2).mean(dim=1)
                            + (true_alpha * colour_error).mean(dim=1))
        per_avatar = per_avatar + settings.volume_weight * losses["volume"]
    losses["tv"] = torch.stack([total_variation(p) for p in planes])
    losses["l2"] = torch.stack([l2_magnitude(p) for p in planes])
    losses["per_avatar"] = (per_avatar + settings.tv_weight * losses["tv"]
                            + settings.l2_weight * losses["l2"])
    losses["total"] = losses["per_avatar"].sum()
    return losses


def fit_decoder_jointly(
    targets: list[FitTarget], decoder_config: DecoderConfig, settings: FitSettings,
    steps: int, avatars_per_step: int, seed: int, progress: ProgressCallback | None = None,
    show_progress: bool = False,
) -> tuple[TriplaneDecoder, dict[str, Tensor]]:
    """Phase 1: the shared decoder and the planes of ``targets``, fitted together.

    Each step draws ``avatars_per_step`` avatars at random, so every avatar is revisited
    throughout training. Returns the decoder and the fitted planes by avatar id.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    decoder = TriplaneDecoder(decoder_config)
    planes = {t.avatar_id: initial_planes(settings, generator).requires_grad_() for t in targets}
    optimiser = torch.optim.Adam([
        {"params": decoder.parameters(), "lr": settings.decoder_learning_rate},
        {"params": list(planes.values()), "lr": settings.plane_learning_rate},
    ])
    bar = tqdm(range(steps), desc="phase 1: decoder + tri-planes", unit="step",
               disable=not show_progress)
    for step in bar:
        chosen = [targets[i] for i in
                  torch.randperm(len(targets), generator=generator)[:avatars_per_step].tolist()]
        optimiser.zero_grad(set_to_none=True)
        stacked = torch.stack([planes[t.avatar_id] for t in chosen])
        losses = fit_losses(stacked, decoder, chosen, settings, generator)
        _check_finite(chosen, step, losses)
        (losses["total"] / len(chosen)).backward()
        optimiser.step()
        logged = {k: v.mean().item() for k, v in losses.items() if k != "per_avatar"}
        logged["total"] = losses["total"].item() / len(chosen)
        bar.set_postfix(loss=f"{logged['total']:.4f}", refresh=False)
        if progress is not None:
            progress(step, logged)
    return decoder.eval(), {k: v.detach() for k, v in planes.items()}


def fit_planes(
    targets: list[FitTarget], decoder: TriplaneDecoder, settings: FitSettings, steps: int,
    seed: int, progress: ProgressCallback | None = None, start: Tensor | None = None,
) -> Tensor:
    """Phase 2: the tri-planes ``(B, 3, C, R, R)`` of ``targets``, decoder frozen.

    The avatars are independent (each loss sees only its own plane) but share each step's
    tensors, which is faster on a CPU than fitting them one by one. ``start`` (e.g. the mean of
    the phase-1 planes, an average head in the decoder's feature space) replaces the random
    initialisation, so only the differences need fitting.
    """
    generator = torch.Generator().manual_seed(seed)
    decoder.requires_grad_(False)
    planes = torch.stack([initial_planes(settings, generator) for _ in targets])
    if start is not None:
        planes = start.detach()[None] + planes
    planes = planes.requires_grad_()
    optimiser = torch.optim.Adam([planes], lr=settings.plane_learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * step / max(steps, 1))) * 0.9 + 0.1
    )
    for step in range(steps):
        optimiser.zero_grad(set_to_none=True)
        losses = fit_losses(planes, decoder, targets, settings, generator)
        _check_finite(targets, step, losses)
        losses["total"].backward()
        optimiser.step()
        schedule.step()
        if progress is not None:
            progress(step, {k: v.mean().item() for k, v in losses.items()})
    return planes.detach()


def _check_finite(targets: list[FitTarget], step: int, losses: dict[str, Tensor]) -> None:
    bad = (~torch.isfinite(losses["per_avatar"])).nonzero().flatten().tolist()
    if bad:
        first = bad[0]
        raise NonFiniteLossError(targets[first].avatar_id, step,
                                 {k: v[first].item() for k, v in losses.items() if v.ndim})
