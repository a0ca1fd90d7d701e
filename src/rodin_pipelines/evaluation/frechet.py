"""Fréchet distance between Gaussians fitted to two feature sets (the FID formula), float64.

``d² = |mu1 − mu2|² + tr(S1) + tr(S2) − 2 tr((S1 S2)^½)``; the trace of the matrix square root is
the sum of the square roots of the eigenvalues of ``S1 S2`` (real and non-negative up to rounding).
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``(N, D)`` features, in float64."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (N >= 2, D), got {tuple(features.shape)}")
    values = features.double()
    return values.mean(0), torch.cov(values.T)


def frechet_distance_from_statistics(mean_a: Tensor, cov_a: Tensor, mean_b: Tensor,
                                     cov_b: Tensor) -> float:
    """Fréchet distance between ``N(mean_a, cov_a)`` and ``N(mean_b, cov_b)``."""
    mean_term = (mean_a.double() - mean_b.double()).square().sum()
    eigenvalues = torch.linalg.eigvals(cov_a.double() @ cov_b.double())
    root_trace = eigenvalues.sqrt().real.sum()
    return float(mean_term + cov_a.double().trace() + cov_b.double().trace() - 2 * root_trace)


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to ``(N, D)`` and ``(M, D)`` features."""
    return frechet_distance_from_statistics(*gaussian_statistics(features_a),
                                            *gaussian_statistics(features_b))
