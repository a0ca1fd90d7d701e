"""Refining sampled tri-planes by gradient descent on an objective of their renders, anchored to
the sample (text-guided editing, portrait matching).

The change is optimised on a coarse grid per plane and upsampled bilinearly, in units of the
fitted planes' per-channel scale: smooth changes of colour and shape rather than pixel-level
patterns (which fool CLIP: adversarial textures), and an anchor that means the same for every
channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from rodin_pipelines.rendering.cameras import SCENE_BOUND
from rodin_pipelines.triplane.layout import PLANE_AXES
from rodin_pipelines.triplane.rescale import resize_planes

Objective = Callable[[Tensor, torch.Generator], Tensor]
"""``objective(planes (B, 3, C, R, R), generator) → scalar loss`` (lower is better)."""


@dataclass(frozen=True)
class RefinementSettings:
    """How planes are refined (``steps: 0`` switches it off).

    Attributes:
        steps: Adam steps.
        learning_rate: Adam's step size, in units of the planes' per-channel scale.
        anchor_weight: weight of the mean squared change (in those units).
        offset_resolution: side of the coarse grid per plane the change lives on.
        views_per_step: random views rendered per step (text-guided editing).
        azimuth_degrees: those views' azimuth within ± this of the face.
        image_size: side of the rendered views.
        above_height: only points above this world height (y) may change, ``None``:
            everywhere. An edit of the hair then cannot recolour the shirt: the change lives
            on the two planes that span y, above that height (:func:`region_mask`).
        hold_below_height: the decoded field below this world height (y) is held to the
            unrefined one by a penalty of weight ``hold_weight`` on ``hold_points`` random
            points per step (:mod:`~rodin_pipelines.generation.region_hold`); ``None``: off.
            Softer than ``above_height``: every plane may change.
        hold_boxes: world-space boxes ``(x0, y0, z0, x1, y1, z1)`` held the same way (another
            ``hold_points`` points per step), e.g. the face, so a hair edit leaves the skin.
    """

    steps: int = 0
    learning_rate: float = 0.05
    anchor_weight: float = 1.0
    offset_resolution: int = 8
    views_per_step: int = 2
    azimuth_degrees: float = 45.0
    image_size: int = 64
    above_height: float | None = None
    hold_below_height: float | None = None
    hold_weight: float = 10.0
    hold_points: int = 4096
    hold_boxes: tuple[tuple[float, ...], ...] = ()


Y_AXIS = 1
"""World axis of height (the avatars stand along +y)."""


def region_mask(resolution: int, above_height: float, bound: float = SCENE_BOUND) -> Tensor:
    """``(3, 1, R, R)``: 1 on the texels of each plane that only points above ``above_height``
    read, 0 elsewhere; 0 on the plane that does not span y (every height reads it).

    Texel centres follow :mod:`~rodin_pipelines.triplane.sampling` (``align_corners=False``
    over ``[-bound, bound]``); a plane spanning y along its width masks columns, along its
    height rows (:data:`~rodin_pipelines.triplane.layout.PLANE_AXES`).
    """
    centres = (-1.0 + (2 * torch.arange(resolution) + 1) / resolution) * bound
    above = (centres > above_height).float()
    masks = []
    for width_axis, height_axis in PLANE_AXES:
        if width_axis == Y_AXIS:
            masks.append(above[None, :].expand(resolution, resolution))
        elif height_axis == Y_AXIS:
            masks.append(above[:, None].expand(resolution, resolution))
        else:
            masks.append(torch.zeros(resolution, resolution))
    return torch.stack(masks)[:, None]


def upsampled(offset: Tensor, resolution: int) -> Tensor:
    """``(B, 3, C, r, r)`` → ``(B, 3, C, R, R)`` bilinearly, plane by plane."""
    return resize_planes(offset, resolution, "bilinear")


def refine_planes(planes: Tensor, scale: Tensor, settings: RefinementSettings,
                  objective: Objective, frozen: list[nn.Module], seed: int = 0,
                  description: str = "refinement") -> Tensor:
    """Planes ``(B, 3, C, R, R)`` moved to lower ``objective`` + anchor; ``scale`` ``(C,)``.

    The modules in ``frozen`` (decoder, CLIP) get no gradients and are restored afterwards."""
    if settings.steps <= 0:
        return planes
    batch, _, channels, resolution = planes.shape[:4]
    scale = scale.reshape(1, 1, -1, 1, 1).to(planes)
    generator = torch.Generator().manual_seed(seed)
    parameters = [p for module in frozen for p in module.parameters()]
    flags = [p.requires_grad for p in parameters]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        coarse = settings.offset_resolution
        region = (torch.ones(3, 1, resolution, resolution) if settings.above_height is None
                  else region_mask(resolution, settings.above_height)).to(planes)
        scale = scale * region
        offset = torch.zeros(batch, 3, channels, coarse, coarse, requires_grad=True)
        optimiser = torch.optim.Adam([offset], lr=settings.learning_rate)
        for _ in tqdm(range(settings.steps), desc=description, leave=False):
            changed = planes + upsampled(offset, resolution) * scale
            loss = objective(changed, generator) + settings.anchor_weight * offset.pow(2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    finally:
        for parameter, flag in zip(parameters, flags):
            parameter.requires_grad_(flag)
    return (planes + upsampled(offset.detach(), resolution) * scale).detach()
