"""Image quality of rendered views against ground truth: PSNR and SSIM (torchmetrics).

Both are computed on colour composited over one fixed background, so transparency errors count
as colour errors, the way a viewer would see them.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from rodin_pipelines.rendering.compositing import straight_rgba_over

EVALUATION_BACKGROUND = (1.0, 1.0, 1.0)
"""Background that RGBA renders are composited on before comparing them (white, as NeRF-synthetic
evaluations do)."""


def over_evaluation_background(images: Tensor) -> Tensor:
    """Straight RGBA ``(V, H, W, 4)`` → RGB ``(V, 3, H, W)`` over the evaluation background."""
    background = torch.tensor(EVALUATION_BACKGROUND, dtype=images.dtype)
    return straight_rgba_over(images, background).permute(0, 3, 1, 2).clamp(0.0, 1.0)


def view_psnr(predicted: Tensor, expected: Tensor) -> float:
    """Mean PSNR (dB) over views of two straight-RGBA stacks ``(V, H, W, 4)``."""
    a = over_evaluation_background(predicted.detach())
    b = over_evaluation_background(expected.detach())
    values = [peak_signal_noise_ratio(x[None], y[None], data_range=1.0) for x, y in zip(a, b)]
    return float(torch.stack(values).mean())


def view_ssim(predicted: Tensor, expected: Tensor) -> float:
    """Mean SSIM over views of two straight-RGBA stacks ``(V, H, W, 4)``."""
    a = over_evaluation_background(predicted.detach())
    b = over_evaluation_background(expected.detach())
    return float(structural_similarity_index_measure(a, b, data_range=1.0))
