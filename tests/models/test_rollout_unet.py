"""The roll-out U-Net: shapes, classifier-free-guidance null rows, plane independence, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from rodin_pipelines.models.aware_conv import AwareConv2d
from rodin_pipelines.models.rollout_unet import RollOutUNet
from rodin_pipelines.models.unet_blocks import AttentionBlock, timestep_embedding

C, LATENT = 8, 12


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: one thread is fastest, and with two a busy neighbouring core makes
    OpenMP's spin-waits cost seconds per step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_unet(resolution: int = 8, in_channels: int = C, **overrides) -> RollOutUNet:
    """A CPU-test-sized U-Net: two levels (R, R/2), 16 channels, one ResBlock per level."""
    kwargs = dict(model_channels=16, channel_mult=(1, 2), num_res_blocks=1,
                  attention_resolutions=(resolution // 2,), aware_levels=(0,), num_heads=2,
                  latent_dim=LATENT, norm_groups=8)
    return RollOutUNet(in_channels, C, resolution, **(kwargs | overrides))


def randomise_zero_parameters(model: torch.nn.Module) -> torch.nn.Module:
    """Give the zero-initialised layers (last convs, null embedding) random values, so a test can
    see every path; a freshly built U-Net outputs exactly 0 and would hide everything."""
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0.0, 0.1)
    return model


def inputs(batch: int, resolution: int, in_channels: int = C, dtype=torch.float32):
    x = torch.randn(batch, in_channels, resolution, 3 * resolution, dtype=dtype)
    t = torch.rand(batch, dtype=dtype) * 1000  # continuous timesteps
    return x, t, torch.randn(batch, LATENT, dtype=dtype)


def test_timestep_embedding_is_cos_then_sin_of_geometric_frequencies() -> None:
    embedding = timestep_embedding(torch.tensor([0.0, 2.5]), 6)
    # half = 3, frequencies 10000^(-k/3) = 1, 10000^(-1/3), 10000^(-2/3).
    frequencies = [1.0, 10_000 ** (-1 / 3), 10_000 ** (-2 / 3)]
    expected_row = ([math.cos(2.5 * f) for f in frequencies]
                    + [math.sin(2.5 * f) for f in frequencies])
    torch.testing.assert_close(embedding, torch.tensor([[1.0, 1, 1, 0, 0, 0], expected_row]))
    assert timestep_embedding(torch.zeros(2), 7).shape == (2, 7)


@pytest.mark.parametrize(("resolution", "in_channels"), [(8, C), (16, C), (16, 2 * C)])
def test_base_and_upsampler_round_trip_the_rolled_out_shape(resolution: int,
                                                            in_channels: int) -> None:
    # in_channels = 2C is the upsampler: noisy high-res concatenated with upsampled low-res.
    model = randomise_zero_parameters(small_unet(resolution, in_channels, aware_levels=(0, 1)))
    x, t, latent = inputs(2, resolution, in_channels)
    out = model(x, t, latent)
    assert out.shape == (2, C, resolution, 3 * resolution)
    assert torch.isfinite(out).all()


def test_a_fresh_unet_predicts_zero() -> None:
    x, t, latent = inputs(2, 8)
    assert torch.count_nonzero(small_unet()(x, t, latent)) == 0


@pytest.mark.parametrize("latent_map_channels", [0, 4])
def test_dropped_rows_equal_the_unconditional_output(latent_map_channels: int) -> None:
    model = randomise_zero_parameters(small_unet(latent_map_channels=latent_map_channels)).eval()
    x, t, latent = inputs(4, 8)
    keep = torch.tensor([True, False, True, False])
    with torch.no_grad():
        mixed = model(x, t, latent, keep)
        unconditional = model(x, t, None)
        conditional = model(x, t, latent)
    torch.testing.assert_close(mixed[~keep], unconditional[~keep], rtol=0, atol=1e-6)
    torch.testing.assert_close(mixed[keep], conditional[keep], rtol=0, atol=1e-6)
    assert (conditional[keep] - unconditional[keep]).abs().max() > 1e-3  # the latent matters


def _xz_yz_changed_by_xy_border(**overrides) -> tuple[bool, bool]:
    """Perturb plane XY's last column; did planes XZ/YZ of the output change? Did XY?"""
    resolution = 8
    model = randomise_zero_parameters(small_unet(resolution, **overrides)).double().eval()
    x, t, latent = inputs(1, resolution, dtype=torch.float64)
    bumped = x.clone()
    bumped[..., resolution - 1] += 1.0
    with torch.no_grad():
        difference = (model(bumped, t, latent) - model(x, t, latent)).abs()
    return (bool(difference[..., resolution:].max() > 1e-9),
            bool(difference[..., :resolution].max() > 1e-9))


def test_without_aware_conv_and_attention_the_planes_are_independent() -> None:
    others, own = _xz_yz_changed_by_xy_border(aware_levels=(), attention_resolutions=())
    assert own and not others
    # Each deliberate cross-plane path, switched on alone, does carry the change over.
    assert _xz_yz_changed_by_xy_border(aware_levels=(1,), attention_resolutions=())[0]
    assert _xz_yz_changed_by_xy_border(aware_levels=(), attention_resolutions=(4,))[0]


def test_aware_levels_choose_which_resblocks_get_the_aware_conv() -> None:
    def aware_count(levels: tuple[int, ...]) -> int:
        model = small_unet(aware_levels=levels)
        return sum(isinstance(m, AwareConv2d) for m in model.modules())

    # Level 0: 1 ResBlock down + 2 up; level 1 (last): 1 down + 2 middle + 2 up.
    assert (aware_count(()), aware_count((0,)), aware_count((1,)), aware_count((0, 1))) == (
        0, 3, 5, 8)


@pytest.mark.parametrize("latent_map_channels", [0, 4])
def test_every_parameter_gets_a_gradient(latent_map_channels: int) -> None:
    model = randomise_zero_parameters(small_unet(latent_map_channels=latent_map_channels))
    x, t, latent = inputs(2, 8)
    model(x, t, latent, torch.tensor([True, False])).square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()] == []


@pytest.mark.parametrize("latent_map_channels", [0, 4])
def test_training_from_the_zero_init_wakes_every_parameter_within_two_steps(
        latent_map_channels: int) -> None:
    # Step 1 only moves the zero-initialised output conv (every other gradient passes through
    # it); step 2 moves the zero-initialised last convs of the blocks; then all gradients flow
    # (the latent map's zero weights too: the first conv that reads it is not zero).
    model = small_unet(latent_map_channels=latent_map_channels)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, t, latent = inputs(2, 8)
    keep = torch.tensor([True, False])
    target = torch.randn(2, C, 8, 24)
    for _ in range(2):
        optimiser.zero_grad()
        (model(x, t, latent, keep) - target).square().mean().backward()
        optimiser.step()
    optimiser.zero_grad()
    (model(x, t, latent, keep) - target).square().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()] == []


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    x, t, latent = inputs(2, 8)
    gradients = []
    for checkpointing in (False, True):
        torch.manual_seed(3)
        model = randomise_zero_parameters(small_unet(gradient_checkpointing=checkpointing))
        model(x, t, latent, torch.tensor([True, False])).square().mean().backward()
        gradients.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(gradients[0], gradients[1])


def test_channels_last_and_bf16_autocast_run() -> None:
    model = randomise_zero_parameters(small_unet(16)).to(memory_format=torch.channels_last)
    x, t, latent = inputs(2, 16)
    reference = model(x, t, latent)
    channels_last = model(x.contiguous(memory_format=torch.channels_last), t, latent)
    torch.testing.assert_close(channels_last, reference, rtol=1e-4, atol=1e-4)
    assert channels_last.is_contiguous(memory_format=torch.channels_last)  # kept end to end
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(x, t, latent, torch.tensor([True, False]))
    assert low.dtype == torch.bfloat16 and low.shape == reference.shape
    assert torch.isfinite(low.float()).all()


def test_unconditional_unet_and_bad_configs_are_refused_clearly() -> None:
    model = small_unet(latent_dim=0)
    x, t, latent = inputs(1, 8)
    assert model.null_latent is None and model(x, t).shape == (1, C, 8, 24)
    with pytest.raises(ValueError, match="unconditional"):
        model(x, t, latent)
    with pytest.raises(ValueError, match="aware_levels"):
        small_unet(aware_levels=(2,))
    with pytest.raises(ValueError, match="halved"):
        small_unet(6, channel_mult=(1, 2, 2))
    with pytest.raises(ValueError, match=r"\(B, 8, R, 3R\)"):
        small_unet()(torch.randn(1, C, 8, 8), t)


@pytest.mark.parametrize("latent_map_channels", [0, 4])
def test_the_latent_is_standardised_with_the_stored_statistics(latent_map_channels: int) -> None:
    # The head (and the latent map) see (e - mean) / std: shifting and scaling e and the
    # statistics alike changes nothing, and the statistics are buffers, so they travel in the
    # state dict.
    model = randomise_zero_parameters(small_unet(latent_map_channels=latent_map_channels)).eval()
    x, t, latent = inputs(3, 8)
    mean, std = torch.randn(LATENT), torch.rand(LATENT) + 0.05
    model.set_latent_statistics(mean, std)
    moved = small_unet(latent_map_channels=latent_map_channels).eval()
    moved.load_state_dict(model.state_dict())
    moved.set_latent_statistics(3 * mean + 1, 3 * std)
    with torch.no_grad():
        torch.testing.assert_close(model(x, t, latent), moved(x, t, 3 * latent + 1),
                                   rtol=1e-5, atol=1e-5)
    copy = small_unet(latent_map_channels=latent_map_channels)
    copy.load_state_dict(model.state_dict())
    torch.testing.assert_close(copy.latent_std, std)
    head_input = []
    model.latent_head[0].register_forward_hook(lambda m, i, o: head_input.append(i[0]))
    with torch.no_grad():
        model(x, t, mean[None].expand(3, -1) + std)
    torch.testing.assert_close(head_input[0], torch.ones(3, LATENT))
    with pytest.raises(ValueError, match="latent statistics must be"):
        model.set_latent_statistics(torch.zeros(LATENT + 1), torch.ones(LATENT + 1))


def test_the_latent_map_carries_e_to_the_input_texels_without_the_head() -> None:
    # With the AdaGN head's output fixed (its last layer zeroed), e still changes the output
    # through the map, and only there; without the map it cannot.
    x, t, latent = inputs(2, 8)
    other = torch.randn_like(latent)
    changes = {}
    for channels in (0, 4):
        model = randomise_zero_parameters(small_unet(latent_map_channels=channels)).eval()
        with torch.no_grad():
            model.latent_head[-1].weight.zero_()
            changes[channels] = float((model(x, t, latent) - model(x, t, other)).abs().max())
    assert changes[0] == 0.0 and changes[4] > 1e-3
    map_model = small_unet(latent_map_channels=4)
    assert map_model.condition_map(2, latent, None).shape == (2, 4, 8, 24)
    keep = torch.tensor([True, False])
    randomise_zero_parameters(map_model)
    mixed = map_model.condition_map(2, latent, keep)
    torch.testing.assert_close(mixed[1], map_model.null_latent_map)
    torch.testing.assert_close(mixed[0], map_model.condition_map(1, latent[:1], None)[0])


def test_a_latent_map_without_a_latent_is_refused() -> None:
    with pytest.raises(ValueError, match="latent_map_channels"):
        small_unet(latent_dim=0, latent_map_channels=4)


def test_attention_hands_the_fused_kernels_heads_with_unit_stride(monkeypatch) -> None:
    # The fused SDPA kernels (flash on CPU and CUDA) need the head dim at stride 1; heads cut out
    # of the channel axis have stride H*W there, which silently selects the unfused math path.
    seen = []
    fused = torch.nn.functional.scaled_dot_product_attention

    def recording(q, k, v, *args, **kwargs):
        seen.append((q.stride(-1), k.stride(-1), v.stride(-1)))
        return fused(q, k, v, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", recording)
    block = randomise_zero_parameters(AttentionBlock(16, num_heads=2, groups=8))
    x = torch.randn(2, 16, 4, 12)
    out = block(x)
    assert seen == [(1, 1, 1)]
    # The same as attention written out: softmax(q k^T / sqrt(d)) v per head, over all 48 texels.
    q, k, v = block.qkv(block.norm(x)).reshape(2, 3, 2, 8, 48).unbind(1)  # (B, heads, d, N)
    weights = torch.softmax(q.transpose(-1, -2) @ k / math.sqrt(8), dim=-1)  # (B, heads, N, N)
    attended = (weights @ v.transpose(-1, -2)).transpose(-1, -2).reshape(2, 16, 4, 12)
    torch.testing.assert_close(out, x + block.proj_out(attended), rtol=1e-4, atol=1e-5)
