"""The built-in rendering backend: procedural scenes drawn by the project's volume renderer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from rodin_pipelines.avatars.scene import SceneSettings, bake_avatar_scene, scene_settings
from rodin_pipelines.rendering.cameras import Cameras
from rodin_pipelines.rendering.compositing import straight_rgba
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras


class TorchAvatarRenderer:
    """Renders attribute sets to RGBA images with pure PyTorch (CPU or GPU).

    Built from config (:func:`~rodin_pipelines.avatars.backends.selection.avatar_renderer`:
    ``render.backend`` names it, ``render.backends.torch`` holds its settings).

    Args:
        scene: how the scene becomes a radiance field (``render.scene``: ``grid_resolution``,
            about 1.5x the image size, ``surface_softness``, ``max_density``), the same settings
            the fit stage's 3D supervision bakes scenes with; ``None``: the defaults.
        coarse_samples / fine_samples: samples per ray of the volume renderer.
        chunk_rays: rays rendered at once (memory bound).
        empty_opacity: rays that gather less opacity in the coarse pass are rendered empty.
        device: torch device to render on.
        narrow_band_bake: evaluate the scene exactly only near surfaces when baking it (the
            same images to 1e-3, in about half the time; ``False``: every voxel).
    """

    name = "torch"

    def __init__(
        self,
        scene: SceneSettings | Mapping[str, Any] | None = None,
        coarse_samples: int = 32,
        fine_samples: int = 32,
        chunk_rays: int = 16384,
        empty_opacity: float = 1e-4,
        device: str = "cpu",
        narrow_band_bake: bool = True,
    ) -> None:
        self.scene_settings = scene_settings(scene)
        self.render_settings = VolumeRenderSettings(
            coarse_samples=coarse_samples, fine_samples=fine_samples, jitter=False,
            chunk_rays=chunk_rays, empty_opacity=empty_opacity,
        )
        self.device = torch.device(device)
        self.narrow_band_bake = narrow_band_bake

    def describe(self) -> dict[str, Any]:
        """Everything that changes the pixels, for fingerprints and logs."""
        return {
            "backend": self.name,
            "grid_resolution": self.scene_settings.grid_resolution,
            "surface_softness": self.scene_settings.surface_softness,
            "max_density": self.scene_settings.max_density,
            "coarse_samples": self.render_settings.coarse_samples,
            "fine_samples": self.render_settings.fine_samples,
            "narrow_band_bake": self.narrow_band_bake,
        }

    @torch.no_grad()
    def render(self, attributes: dict[str, Any], cameras: Cameras) -> Tensor:
        """Straight-alpha RGBA images ``(V, H, W, 4)`` of one avatar from every camera."""
        scene = bake_avatar_scene(attributes, self.scene_settings,
                                  narrow_band=self.narrow_band_bake)
        scene.volume = scene.volume.to(self.device)
        box = scene.occupied_box(margin=2 * self.scene_settings.surface_softness + 0.02)
        colour, opacity = render_cameras(
            scene, cameras.to(self.device), self.render_settings, box=box
        )
        return straight_rgba(colour, opacity).cpu()
