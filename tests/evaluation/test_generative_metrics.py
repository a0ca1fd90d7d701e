"""FID and KID: against independent computations, on identical sets, and as images degrade."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import Tensor
from torchmetrics.image.fid import FrechetInceptionDistance

from rodin_pipelines.evaluation.frechet import frechet_distance, gaussian_statistics
from rodin_pipelines.evaluation.generative_metrics import (
    extract_features,
    fid_kid,
    rgba_to_rgb_batch,
)
from rodin_pipelines.models.clip_embeddings import embed_views

NOISE_LEVELS = (0.1, 0.2, 0.4)


def with_noise(images: Tensor, sigma: float, seed: int = 1) -> Tensor:
    """RGB ``(B, 3, H, W)`` plus Gaussian noise of standard deviation ``sigma``, clipped to [0, 1]."""
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    return (images + sigma * noise).clamp(0.0, 1.0)


def scipy_frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook FID formula with scipy's matrix square root (as pytorch-fid computes it)."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_rgba_to_rgb_batch_composites_over_white():
    pixels = torch.tensor([[[[0.0, 0.0, 0.0, 0.5], [0.2, 0.4, 0.6, 1.0], [0.3, 0.3, 0.3, 0.0]]]])
    rgb = rgba_to_rgb_batch(pixels)  # (1, 1, 3, 4) → (1, 3, 1, 3)
    assert rgb.shape == (1, 3, 1, 3)
    expected = torch.tensor([[0.5, 0.5, 0.5], [0.2, 0.4, 0.6], [1.0, 1.0, 1.0]]).T[:, None, :]
    assert torch.allclose(rgb[0], expected)


def test_frechet_distance_matches_scipy_sqrtm():
    generator = np.random.default_rng(0)
    mixing = generator.normal(size=(16, 16))
    a = generator.normal(size=(200, 16)) @ mixing
    b = generator.normal(size=(150, 16)) @ (mixing + 0.3 * generator.normal(size=(16, 16))) + 0.5
    ours = frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert ours == pytest.approx(scipy_frechet_distance(a, b), rel=1e-6)
    assert ours > 1.0  # a real difference, not two zeros agreeing


def test_torchmetrics_fid_on_clip_features_equals_our_frechet_distance(clip, clip_features, views):
    real = rgba_to_rgb_batch(views)
    fake = with_noise(real, 0.2)
    # torchmetrics' FID, with ClipImageFeatures as its custom feature module, float input in [0, 1].
    metric = FrechetInceptionDistance(feature=clip_features, normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    through_torchmetrics = metric.compute()
    assert through_torchmetrics.dtype == torch.float64  # kept float64 to the end
    fake_views = torch.cat([fake.permute(0, 2, 3, 1), torch.ones(24, 32, 32, 1)], dim=-1)
    expected = frechet_distance(embed_views(clip, views), embed_views(clip, fake_views))
    # The features are bit-identical; only the covariance differs in rounding (torchmetrics:
    # Σffᵀ − nμμᵀ, ours: centred). With 24 images in 128 dimensions both covariances are
    # singular, and the square roots of their ~1e-20 rounding eigenvalues leave ~1e-7 relative
    # (measured 7e-8 here; 9e-11 with 160 images, where the covariances are full rank).
    assert float(through_torchmetrics) == pytest.approx(expected, rel=1e-6)
    scores = fid_kid(real, fake, clip_features, kid_subset_size=12, kid_subsets=10)
    assert scores["fid"] == pytest.approx(expected, rel=1e-6)
    assert (scores["n_real"], scores["n_fake"]) == (24, 24)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(clip_features, views):
    real = rgba_to_rgb_batch(views)
    scale = float(gaussian_statistics(extract_features(real, clip_features))[1].trace())
    itself = fid_kid(real, real, clip_features, kid_subset_size=12, kid_subsets=10)["fid"]
    assert abs(itself) < 1e-3 * scale
    noisy = [fid_kid(real, with_noise(real, sigma), clip_features, kid_subset_size=12,
                     kid_subsets=10)["fid"] for sigma in NOISE_LEVELS]
    assert noisy[0] > 100 * abs(itself)
    assert noisy[0] < noisy[1] < noisy[2]


def test_kid_of_a_set_with_itself_is_only_the_known_self_pairing_bias(clip_features, views):
    real = rgba_to_rgb_batch(views)
    scores = fid_kid(real, real, clip_features, kid_subset_size=24, kid_subsets=5)
    # With full subsets both sides hold the same 24 items; the estimator's cross term then
    # includes k(x, x), so the value is exactly 2 (mean off-diagonal k − mean diagonal k) / m ≤ 0.
    features = extract_features(real, clip_features)
    m, width = features.shape
    kernel = (features @ features.T / width + 1.0) ** 3
    off_diagonal = (kernel.sum() - kernel.diag().sum()) / (m * (m - 1))
    bias = float(2 * (off_diagonal - kernel.diag().mean()) / m)
    assert scores["kid_mean"] == pytest.approx(bias, rel=1e-9)
    assert scores["kid_std"] < 1e-12
    different = fid_kid(real, with_noise(real, 0.4), clip_features, kid_subset_size=24,
                        kid_subsets=5)["kid_mean"]
    assert abs(scores["kid_mean"]) < 0.15 * different


def test_kid_subsets_follow_the_seed_and_leave_the_global_rng_alone(clip_features, views):
    real = rgba_to_rgb_batch(views)
    fake = with_noise(real, 0.4)
    state = torch.get_rng_state()
    first = fid_kid(real, fake, clip_features, kid_subset_size=12, kid_subsets=20, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    again = fid_kid(real, fake, clip_features, kid_subset_size=12, kid_subsets=20, seed=3)
    other = fid_kid(real, fake, clip_features, kid_subset_size=12, kid_subsets=20, seed=4)
    assert first == again
    assert first["kid_mean"] != other["kid_mean"]


def test_fid_kid_rejects_a_subset_larger_than_a_set(clip_features, views):
    real = rgba_to_rgb_batch(views)
    with pytest.raises(ValueError, match=r"\[2, 24\]"):
        fid_kid(real, real, clip_features, kid_subset_size=25)
