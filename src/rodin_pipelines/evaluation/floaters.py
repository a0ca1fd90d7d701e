"""Floaters: density a sample puts where no avatar ever is.

Two measures (issue 16's "no floaters"): the mean opacity of sample renders outside the dilated
union of all training silhouettes seen from the same camera, and the share of a mesh's vertices
in its largest connected component (a clean head is one piece; floaters are extra pieces).
"""

from __future__ import annotations

import numpy as np
import torch
import trimesh
from torch import Tensor
from torch.nn import functional as F

SILHOUETTE_OPACITY = 0.5
"""A pixel belongs to a silhouette where the render's alpha exceeds this."""


def silhouette_union(images: Tensor, dilation_pixels: int) -> Tensor:
    """``(H, W)`` bool: pixels inside any silhouette of straight-RGBA ``images`` ``(N, H, W, 4)``,
    grown by ``dilation_pixels`` in every direction (a square structuring element)."""
    union = (images[..., 3] > SILHOUETTE_OPACITY).any(0).float()
    if dilation_pixels > 0:
        size = 2 * dilation_pixels + 1
        union = F.max_pool2d(union[None, None], size, stride=1, padding=dilation_pixels)[0, 0]
    return union > 0


def opacity_outside(images: Tensor, allowed: Tensor) -> float:
    """Mean alpha of ``images`` ``(B, H, W, 4)`` over the pixels where ``allowed`` ``(H, W)`` is
    False (0 when every pixel is allowed)."""
    outside = ~allowed
    if not bool(outside.any()):
        return 0.0
    return float(images[..., 3][:, outside].mean())


def largest_component_share(mesh: trimesh.Trimesh) -> float:
    """Share of the mesh's vertices in its largest face-connected component (1 for one piece;
    0 for an empty mesh)."""
    if len(mesh.vertices) == 0 or len(mesh.faces) == 0:
        return 0.0
    components = trimesh.graph.connected_components(mesh.face_adjacency,
                                                    nodes=np.arange(len(mesh.faces)))
    largest = max(components, key=len)
    vertices = np.unique(mesh.faces[largest])
    return float(len(vertices) / len(np.unique(mesh.faces)))


def mean_or_nan(values: list[float]) -> float:
    return float(torch.tensor(values).mean()) if values else float("nan")
