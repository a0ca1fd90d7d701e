"""The patched base network: the roll-out U-Net on each plane's texel blocks as channels."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional

from rodin_pipelines.diffusion.networks import network_config
from rodin_pipelines.instantiation import build_from_config
from rodin_pipelines.models.patched_rollout_unet import PatchedRollOutUNet
from rodin_pipelines.models.rollout_unet import RollOutUNet
from rodin_pipelines.triplane.layout import roll_in, roll_out

C, LATENT = 4, 12
UNET = dict(model_channels=16, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(2,),
            aware_levels=(0,), num_heads=2, latent_dim=LATENT, norm_groups=8)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    """Zero-initialised layers given random values, so the output is not identically 0."""
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.1)
    return model.double().eval()


def test_blocks_of_the_rolled_out_map_are_each_plane_s_own_blocks() -> None:
    rolled = torch.randn(2, C, 8, 24)
    per_plane = roll_out(torch.stack([functional.pixel_unshuffle(p, 2)
                                      for p in roll_in(rolled).unbind(1)], dim=1))
    assert torch.equal(functional.pixel_unshuffle(rolled, 2), per_plane)


def test_it_is_the_inner_unet_on_the_unshuffled_map() -> None:
    torch.manual_seed(0)
    patched = randomised(PatchedRollOutUNet(C, C, 8, patch_size=2, **UNET))
    inner = RollOutUNet(4 * C, 4 * C, 4, **UNET).double().eval()
    inner.load_state_dict(patched.state_dict())  # same weights, key for key
    x = torch.randn(3, C, 8, 24, dtype=torch.float64)
    t, latent = torch.rand(3, dtype=torch.float64) * 1000, torch.randn(3, LATENT).double()
    with torch.no_grad():
        out = patched(x, t, latent)
        expected = functional.pixel_shuffle(inner(functional.pixel_unshuffle(x, 2), t, latent), 2)
    assert out.shape == (3, C, 8, 24)
    assert torch.equal(out, expected)
    assert out.abs().max() > 1e-3  # not the zero-init's constant output


def test_patch_one_is_the_plain_unet() -> None:
    torch.manual_seed(1)
    patched = randomised(PatchedRollOutUNet(C, C, 4, patch_size=1, **UNET))
    plain = RollOutUNet(C, C, 4, **UNET).double().eval()
    plain.load_state_dict(patched.state_dict())
    x = torch.randn(2, C, 4, 12, dtype=torch.float64)
    t, latent = torch.full((2,), 300.0, dtype=torch.float64), torch.randn(2, LATENT).double()
    with torch.no_grad():
        assert torch.equal(patched(x, t, latent), plain(x, t, latent))


def test_bad_patches_and_shapes_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="patch_size 3 must be >= 1 and divide R = 8"):
        PatchedRollOutUNet(C, C, 8, patch_size=3, **UNET)
    model = PatchedRollOutUNet(C, C, 8, patch_size=2, **UNET)
    with pytest.raises(ValueError, match=r"x must be \(B, C, R, 3R\) = \(B, 4, 8, 24\)"):
        model(torch.randn(1, C, 4, 12), torch.zeros(1), torch.randn(1, LATENT))


def test_the_cascade_builds_it_at_the_base_resolution_from_config() -> None:
    model = {"network": {"_target_": "rodin_pipelines.models.patched_rollout_unet."
                                     "PatchedRollOutUNet", "patch_size": 2, **UNET}}
    config = network_config(model, {"base_resolution": 8}, channels=C, latent_dim=LATENT,
                            fitted_resolution=32)
    network = build_from_config(config)
    assert type(network) is PatchedRollOutUNet
    assert network.map_shape == (C, 8, 24)
    assert (network.in_channels, network.resolution) == (4 * C, 4)  # the inner U-Net's
