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
    assert not config.get("context_noise_conditioned", False)
    upsampler_only = {"low_resolution", "context_noise_conditioned"}
    flag_config = {**{k: v for k, v in config.items() if k not in upsampler_only},
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


def test_a_level_conditioned_upsampler_reads_the_level_through_its_own_embedding() -> None:
    """Untrained, the level changes nothing (zero last layer) and the weights are the plain
    upsampler's plus the level MLP; once that MLP is trained (here: perturbed) the output depends
    on the level, and no level means level 0. The plain upsampler and base U-Net refuse one."""
    unet = dict(model_channels=16, channel_mult=(1, 2), num_res_blocks=1, num_heads=2,
                latent_dim=LATENT, norm_groups=8)
    torch.manual_seed(0)
    conditioned = RollOutSuperResUNet(4, 4, 8, low_resolution=4, context_noise_conditioned=True,
                                      **unet).eval()
    torch.manual_seed(0)
    plain = RollOutSuperResUNet(4, 4, 8, low_resolution=4, **unet).eval()
    extra = set(conditioned.state_dict()) - set(plain.state_dict())
    assert extra and all(key.startswith("context_level_embed.") for key in extra)
    torch.manual_seed(1)
    with torch.no_grad():  # every weight perturbed alike (zero-initialised layers hide the rest)
        for parameter in plain.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    conditioned.load_state_dict(plain.state_dict(), strict=False)
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(2, 8, 8, 24, generator=generator)
    t, latent = torch.tensor([3.0, 500.0]), torch.randn(2, LATENT, generator=generator)
    levels = torch.tensor([0.0, 0.7])
    with torch.no_grad():
        untrained = conditioned(x, t, latent, context_level=levels)
        assert torch.allclose(untrained, plain(x, t, latent), atol=1e-6)
        conditioned.context_level_embed[-1].weight.normal_(0, 0.5)
        at_zero = conditioned(x, t, latent, context_level=torch.zeros(2))
        assert torch.equal(conditioned(x, t, latent), at_zero)
        moved = (conditioned(x, t, latent, context_level=levels) - at_zero).abs().amax((1, 2, 3))
    assert float(moved[0]) == 0.0 and float(moved[1]) > 1e-3
    with pytest.raises(ValueError, match="context_noise_conditioned"):
        plain(x, t, latent, context_level=levels)
    base = RollOutUNet(4, 4, 8, **unet)
    with pytest.raises(ValueError, match="takes no"):
        base(x[:, :4], t, latent, context_level=levels)
