"""The upsampler as its own network type: the roll-out U-Net of twice the tri-plane's channels,
weight for weight (so trained upsampler weights keep loading), with its cascade sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rodin_pipelines.diffusion.networks import network_config
from rodin_pipelines.instantiation import build_from_config
from rodin_pipelines.models.rollout_super_res_unet import RollOutSuperResUNet
from rodin_pipelines.models.rollout_unet import RollOutUNet
from rodin_pipelines.settings import load_parameters

CONF = Path(__file__).resolve().parents[2] / "conf"
LATENT = 12


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def built(config: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_from_config(config).eval()


def assert_same_network(first: torch.nn.Module, second: torch.nn.Module) -> None:
    """Same state-dict keys, shapes and bytes at init, and the same output once every weight is
    perturbed alike (a fresh U-Net outputs exactly 0 through its zero-initialised last conv)."""
    ours, theirs = first.state_dict(), second.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
    for module in (first, second):
        torch.manual_seed(1)
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.add_(0.01 * torch.randn_like(parameter))
    generator = torch.Generator().manual_seed(2)
    resolution = first.resolution
    x = torch.randn(2, first.in_channels, resolution, 3 * resolution, generator=generator)
    t, latent = torch.tensor([3.0, 500.0]), torch.randn(2, LATENT, generator=generator)
    with torch.no_grad():
        assert torch.equal(first(x, t, latent), second(x, t, latent))


def test_the_upsampler_is_the_unet_of_twice_the_channels_weight_for_weight() -> None:
    unet = dict(model_channels=16, channel_mult=(1, 2), num_res_blocks=1,
                attention_resolutions=(8,), aware_levels=(0, 1), num_heads=2,
                latent_dim=LATENT, norm_groups=8)
    torch.manual_seed(0)
    upsampler = RollOutSuperResUNet(8, 8, 16, low_resolution=8, **unet).eval()
    torch.manual_seed(0)
    plain = RollOutUNet(16, 8, 16, **unet).eval()
    assert (upsampler.in_channels, upsampler.low_resolution) == (16, 8)
    assert_same_network(upsampler, plain)


@pytest.mark.parametrize("env", ["test", "base"])
def test_the_configured_upsampler_builds_what_the_upsampler_flag_built(env: str) -> None:
    """Before, ``upsampler: true`` made network_config double a RollOutUNet's input channels and
    give it the fitted resolution; the type now does both, to the same weights and outputs."""
    params = load_parameters(CONF, env)
    diffusion, fit = params["diffusion"], params["fit"]
    channels, fitted = fit["decoder"]["channels"], fit["resolution"]
    model = diffusion["upsampler"]
    assert "upsampler" not in model  # no flag left: the network's type says it
    config = network_config(model, diffusion, channels=channels, latent_dim=LATENT,
                            fitted_resolution=fitted)
    assert config["_target_"].endswith("RollOutSuperResUNet")
    assert (config["resolution"], config["low_resolution"]) == (fitted,
                                                                diffusion["base_resolution"])
    flag_config = {**{k: v for k, v in config.items() if k != "low_resolution"},
                   "_target_": "rodin_pipelines.models.rollout_unet.RollOutUNet",
                   "in_channels": 2 * channels}
    assert_same_network(built(config), built(flag_config))


@pytest.mark.parametrize("env", ["test", "base"])
def test_the_base_model_keeps_its_own_resolution_and_channels(env: str) -> None:
    params = load_parameters(CONF, env)
    diffusion, fit = params["diffusion"], params["fit"]
    config = network_config(diffusion["base"], diffusion, channels=fit["decoder"]["channels"],
                            latent_dim=LATENT, fitted_resolution=fit["resolution"])
    assert type(built(config)) is RollOutUNet
    assert (config["in_channels"], config["resolution"]) == (fit["decoder"]["channels"],
                                                             diffusion["base_resolution"])
