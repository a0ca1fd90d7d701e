"""The render backend is the class ``render.backend``'s ``_target_`` names, with its settings from
``render.backends.<its name>``; the scene both backends draw (and the fit supervises with) is
``render.scene``. Before, a ``use_blender`` flag picked one of two blocks and the fit stage built
the built-in renderer only to read its scene settings back."""

from __future__ import annotations

from pathlib import Path

from rodin_pipelines.avatars.backends.blender_renderer import BlenderAvatarRenderer
from rodin_pipelines.avatars.backends.selection import avatar_renderer
from rodin_pipelines.avatars.backends.torch_renderer import TorchAvatarRenderer
from rodin_pipelines.avatars.scene import SceneSettings
from rodin_pipelines.pipelines.fit import create_pipeline as fit_pipeline
from rodin_pipelines.settings import load_parameters

CONF = Path(__file__).resolve().parents[2] / "conf"
BLENDER = "rodin_pipelines.avatars.backends.blender_renderer.BlenderAvatarRenderer"


def profile_render() -> dict:
    return load_parameters(CONF, "test")["render"]


def test_the_default_backend_describes_itself_as_before_so_render_fingerprints_hold() -> None:
    render = profile_render()
    assert "use_blender" not in render and "blender_backend" not in render
    renderer = avatar_renderer(render)
    assert isinstance(renderer, TorchAvatarRenderer)
    assert renderer.scene_settings == SceneSettings(grid_resolution=48)
    # What the avatar fingerprint hashes of the renderer, as the flag-era block gave it.
    assert renderer.describe() == {
        "backend": "torch", "grid_resolution": 48, "surface_softness": 0.012,
        "max_density": 250.0, "coarse_samples": 32, "fine_samples": 16,
        "narrow_band_bake": True}


def test_one_target_switches_to_blender_with_its_own_settings_only() -> None:
    render = profile_render()
    renderer = avatar_renderer({**render, "backend": {"_target_": BLENDER}})
    assert isinstance(renderer, BlenderAvatarRenderer)  # no torch setting leaked into it
    described = renderer.describe()
    assert (described["samples"], described["mesh_resolution"]) == (8, 64)  # conf/test's
    assert renderer.lighting == SceneSettings().lighting


def test_keys_in_the_backend_block_win_over_its_named_settings() -> None:
    render = profile_render()
    renderer = avatar_renderer({**render, "backend": {**render["backend"], "fine_samples": 4}})
    assert renderer.describe()["fine_samples"] == 4


def test_the_fit_stage_reads_the_scene_not_the_renderer() -> None:
    inputs = fit_pipeline().inputs()
    assert "params:render.scene" in inputs and "params:render.backend" not in inputs


def test_the_command_line_switch_reaches_the_renderer() -> None:
    """``kedro run --params "render.backend._target_=..."``: Kedro merges the value into
    ``render.backend`` key by key, which is why the settings live apart from it."""
    from kedro.config import OmegaConfigLoader
    from omegaconf import OmegaConf

    from rodin_pipelines.configuration import CUSTOM_RESOLVERS, MERGE_STRATEGY

    runtime = OmegaConf.to_container(OmegaConf.from_dotlist([f"render.backend._target_={BLENDER}"]))
    loader = OmegaConfigLoader(str(CONF), base_env="base", default_run_env="test",
                               merge_strategy=MERGE_STRATEGY, custom_resolvers=CUSTOM_RESOLVERS,
                               runtime_params=runtime)
    renderer = avatar_renderer(loader["parameters"]["render"])
    assert isinstance(renderer, BlenderAvatarRenderer)
    assert renderer.describe()["samples"] == 8
