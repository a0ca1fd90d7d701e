"""FID and KID between real (held-out) and generated renders, through torchmetrics.

FID (Heusel et al. 2017) is the Fréchet distance between Gaussians fitted to the features of the
two sets; KID (Bińkowski et al. 2018) the unbiased squared MMD with the cubic polynomial kernel
``k(x, y) = (x·y / D + 1)³``, averaged over random subsets. RODIN computes FID on CLIP image
features (method §7); the feature extractor is a parameter
(:mod:`rodin_pipelines.evaluation.image_features`).

Each image is run through the extractor once; the features then feed torchmetrics'
:class:`~torchmetrics.image.fid.FrechetInceptionDistance` and
:class:`~torchmetrics.image.kid.KernelInceptionDistance` (through a pass-through ``feature``
module), so FID and KID are computed on the very same features at half the cost.

Precision: torchmetrics' FID keeps its running sums (Σf and Σffᵀ) in float64 and computes the
covariances and ``tr((S1 S2)^½)`` (via eigenvalues) in float64, then casts the result to the
features' dtype; :func:`fid_kid` hands it float64 features, so the whole computation stays
float64 (KID too).
"""

from __future__ import annotations

import warnings

import torch
from einops import rearrange
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from rodin_pipelines.rendering.compositing import straight_rgba_over

WHITE = (1.0, 1.0, 1.0)
"""Background behind transparent pixels for every evaluated image (as for CLIP embeddings)."""


def rgba_to_rgb_batch(images: Tensor) -> Tensor:
    """Straight RGBA ``(B, H, W, 4)`` in [0, 1] → RGB over white ``(B, 3, H, W)``.

    Example: a half-transparent black pixel ``(0, 0, 0, 0.5)`` becomes grey ``(0.5, 0.5, 0.5)``.
    """
    if images.dim() != 4 or images.shape[-1] != 4:
        raise ValueError(f"expected straight RGBA (B, H, W, 4), got {tuple(images.shape)}")
    white = torch.tensor(WHITE, dtype=images.dtype, device=images.device)
    return rearrange(straight_rgba_over(images, white), "b h w c -> b c h w")


class PrecomputedFeatures(nn.Module):
    """Pass-through ``feature`` module for torchmetrics: the "images" are features ``(B, D)``."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        """``(B, D)`` → the same ``(B, D)``."""
        return features


@torch.no_grad()
def extract_features(images: Tensor, feature: nn.Module, batch_size: int = 64) -> Tensor:
    """RGB images ``(B, 3, H, W)`` → features ``(B, D)``, ``batch_size`` images at a time."""
    parts = [feature(images[start:start + batch_size])
             for start in range(0, images.shape[0], batch_size)]
    return torch.cat(parts)


def check_subset_size(kid_subset_size: int, n_real: int, n_fake: int) -> None:
    """KID needs at least two images per subset, and no more than either set holds."""
    if not 2 <= kid_subset_size <= min(n_real, n_fake):
        raise ValueError(f"kid_subset_size must lie in [2, min(n_real, n_fake)] = "
                         f"[2, {min(n_real, n_fake)}], got {kid_subset_size}; lower "
                         "evaluate's kid_subset_size or evaluate more images")


def fid_kid(real_images: Tensor, fake_images: Tensor, feature: nn.Module, kid_subset_size: int,
            kid_subsets: int = 100, batch_size: int = 64,
            seed: int = 0) -> dict[str, float | int]:
    """FID and KID between two sets of RGB images ``(B, 3, H, W)`` (float in [0, 1] or ``uint8``).

    Args:
        real_images: held-out renders ``(B_real, 3, H, W)``.
        fake_images: renders of generated avatars ``(B_fake, 3, H, W)``, same camera set.
        feature: the extractor, ``(B, 3, H, W)`` → ``(B, D)``, with an int ``num_features``
            (e.g. :class:`~rodin_pipelines.evaluation.image_features.ClipImageFeatures`).
        kid_subset_size: images per KID subset, in ``[2, min(B_real, B_fake)]``.
        kid_subsets: how many random subsets KID averages over.
        batch_size: images per forward pass of ``feature``.
        seed: seeds KID's subset draws (the global torch RNG is left as it was).

    Returns:
        ``{"fid", "kid_mean", "kid_std"}`` as floats, ``{"n_real", "n_fake"}`` as ints.
    """
    n_real, n_fake = real_images.shape[0], fake_images.shape[0]
    if min(n_real, n_fake) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {n_real} real, {n_fake} fake")
    check_subset_size(kid_subset_size, n_real, n_fake)
    # float64 whatever the extractor gives: torchmetrics casts FID to the features' dtype.
    real = extract_features(real_images, feature, batch_size).double()
    fake = extract_features(fake_images, feature, batch_size).double()
    passthrough = PrecomputedFeatures(real.shape[1])
    fid = FrechetInceptionDistance(feature=passthrough, normalize=True).to(real.device)
    with warnings.catch_warnings():  # KID warns that it keeps all features: ours are small
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        kid = KernelInceptionDistance(feature=passthrough, subsets=kid_subsets,
                                      subset_size=kid_subset_size, normalize=True).to(real.device)
    for metric in (fid, kid):
        metric.update(real, real=True)
        metric.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):  # KID draws subsets with torch.randperm
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    return {"fid": float(fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std),
            "n_real": n_real, "n_fake": n_fake}
