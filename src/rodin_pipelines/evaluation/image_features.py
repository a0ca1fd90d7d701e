"""Image feature extractors for FID/KID: RGB image batches ``(B, 3, H, W)`` → features ``(B, D)``.

Both follow torchmetrics' convention for a custom ``feature`` module of
:class:`torchmetrics.image.fid.FrechetInceptionDistance`: the input is a batch of RGB images,
either ``uint8`` in [0, 255] or float in [0, 1] (what ``normalize=True`` expects), and the module
has an integer ``num_features``.

- :class:`ClipImageFeatures` — CLIP image embeddings, the features RODIN's FID is computed on
  (method §7, following Kynkäänniemi et al., arXiv 2203.06026). Images are resized and normalised
  exactly as :func:`~rodin_pipelines.models.clip_embeddings.embed_views` does (the same
  transform), and the embeddings are L2-normalised like its output, so the two give the same
  numbers for the same pictures. The caller composites RGBA on white first
  (:func:`~rodin_pipelines.evaluation.generative_metrics.rgba_to_rgb_batch`).
- :func:`inception_features` — the standard Inception-v3 pool features (2048-d, the
  TensorFlow-compatible network of torch-fidelity), from a local weights file only.

Features are returned in float64: torchmetrics' FID accumulates its sums in float64 but casts the
final value to the dtype of the features, so float64 features keep the result in float64.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.models.clip_loader import LoadedClip
from rodin_pipelines.models.clip_preprocessing import clip_image_transform

INCEPTION_WEIGHTS_KEY = "evaluate.features.inception_weights"
"""Config key naming the local Inception-v3 weights file (torch-fidelity's ``.pth``)."""

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
"""The file name torch-fidelity publishes the converted TensorFlow Inception weights under."""

INCEPTION_FEATURES = 2048
"""Width of the Inception-v3 pool features used for FID/KID."""

RANGE_TOLERANCE = 1e-4
"""How far float images may stray outside [0, 1] (rounding) before they are rejected."""


def unit_range_images(images: Tensor) -> Tensor:
    """RGB images ``(B, 3, H, W)``, ``uint8`` in [0, 255] or float in [0, 1] → float32 in [0, 1].

    Raises:
        ValueError: not ``(B, 3, H, W)``, or float values outside [0, 1] (e.g. floats in 0..255,
            which must be passed as ``uint8``).
        TypeError: an integer dtype other than ``uint8``.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images (B, 3, H, W), got {tuple(images.shape)}; "
                         "convert straight RGBA (B, H, W, 4) with rgba_to_rgb_batch")
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 in [0, 255] or float in [0, 1], got {images.dtype}")
    if images.numel() and (images.min() < -RANGE_TOLERANCE or images.max() > 1 + RANGE_TOLERANCE):
        raise ValueError(f"float images must lie in [0, 1], got [{float(images.min()):.3g}, "
                         f"{float(images.max()):.3g}]; pass 0..255 values as uint8")
    return images.float().clamp(0.0, 1.0)


def uint8_images(images: Tensor) -> Tensor:
    """RGB images ``(B, 3, H, W)`` (``uint8``, or float in [0, 1]) → ``uint8``, rounded to nearest.

    Rounding (not truncation as in torchmetrics' own ``normalize=True`` path) quantises the same
    way writing the renders to PNG does, so in-memory renders and files give the same features.
    """
    if images.dtype == torch.uint8:
        return images
    return (unit_range_images(images) * 255.0).round().to(torch.uint8)


class ClipImageFeatures(nn.Module):
    """CLIP image embeddings of RGB images: ``(B, 3, H, W)`` → unit vectors ``(B, D)``, float64.

    Wraps a :class:`LoadedClip`: its model becomes a submodule, run without gradients and kept in
    eval mode (as torchmetrics' own Inception is). Usable as ``FrechetInceptionDistance(feature=...)`` and
    ``KernelInceptionDistance(feature=...)``.

    Args:
        clip: the CLIP whose image tower embeds the pictures (its ``image_size`` sets the resize).
    """

    def __init__(self, clip: LoadedClip) -> None:
        super().__init__()
        self.model = clip.model
        self.image_size = clip.image_size
        # The transform embed_views uses (resize, then CLIP's mean/std), so numbers match it.
        self.transform = clip_image_transform(clip.image_size, augmentation=None)
        with torch.no_grad():
            probe = torch.zeros(1, 3, self.image_size, self.image_size, device=self._device())
            self.num_features = int(self.model.encode_image(probe).shape[-1])
        self.train(False)

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def train(self, mode: bool = True) -> ClipImageFeatures:
        """Stay in eval mode whatever a wrapping metric asks (no dropout in features)."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """RGB ``(B, 3, H, W)`` (``uint8`` or float in [0, 1]) → unit embeddings ``(B, D)`` float64."""
        pixels = unit_range_images(images).to(self._device())
        embeddings = self.model.encode_image(self.transform(pixels), normalize=True)
        return embeddings.double()


class InceptionImageFeatures(nn.Module):
    """Inception-v3 pool features: RGB ``(B, 3, H, W)`` (``uint8`` or float in [0, 1]) → ``(B, 2048)``.

    Float input is rounded to ``uint8`` first (the network expects 0..255 and resizes to 299²
    itself, TensorFlow-style). Built by :func:`inception_features`.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.num_features = INCEPTION_FEATURES

    def train(self, mode: bool = True) -> InceptionImageFeatures:
        """Stay in eval mode whatever a wrapping metric asks."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """RGB ``(B, 3, H, W)`` → pool features ``(B, 2048)`` float64."""
        device = next(self.network.parameters()).device
        return self.network(uint8_images(images).to(device)).double()


def inception_features(weights_path: str | Path) -> InceptionImageFeatures:
    """The standard FID Inception-v3 (torch-fidelity's port of the TensorFlow graph), from a local
    weights file; nothing is ever downloaded (torch-fidelity would fetch them when given no path).

    Raises:
        InputDataError: ``weights_path`` is not a file (names :data:`INCEPTION_WEIGHTS_KEY`).
        ImportError: torch-fidelity is not installed.
    """
    path = Path(weights_path)
    if not path.is_file():
        raise InputDataError(path, "Inception-v3 weights for FID not found",
                             f"download {INCEPTION_WEIGHTS_FILE} (torch-fidelity's release "
                             f"v0.2.0) on a machine with network, and point "
                             f"{INCEPTION_WEIGHTS_KEY} (in conf/local) at it; nothing is "
                             "downloaded here")
    try:
        import torch_fidelity  # noqa: F401  (only to give a clear error)
    except ImportError as error:
        raise ImportError(
            "Inception features need torch-fidelity: pip install 'torchmetrics[image]' "
            "(or pip install torch-fidelity); CLIP features (the default) do not") from error
    from torchmetrics.image.fid import NoTrainInceptionV3

    network = NoTrainInceptionV3(name="inception-v3-compat",
                                 features_list=[str(INCEPTION_FEATURES)],
                                 feature_extractor_weights_path=str(path))
    return InceptionImageFeatures(network)
