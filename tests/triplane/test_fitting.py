"""Decoder, random scaling and fitting on a real (tiny) rendered avatar."""

import pytest
import torch

import json

from PIL import Image

from rodin_pipelines.avatars.backends.torch_renderer import TorchAvatarRenderer
from rodin_pipelines.avatars.importer import import_nerf_synthetic
from rodin_pipelines.avatars.procedural import ViewPlan, plan_avatars, render_avatar
from rodin_pipelines.evaluation.view_quality import view_psnr
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.compositing import straight_rgba
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_cameras
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder, decoder_fingerprint
from rodin_pipelines.triplane.field import TriplaneField
from rodin_pipelines.triplane.fitting import (
    FitSettings,
    NonFiniteLossError,
    fit_decoder_jointly,
    initial_planes,
)
from rodin_pipelines.triplane.rescale import down_up_sample
from rodin_pipelines.triplane.supervision import fit_target_from_views

EVAL = VolumeRenderSettings(coarse_samples=32, fine_samples=16)


def test_decoder_outputs_are_bounded_and_fingerprint_tracks_weights():
    decoder = TriplaneDecoder(DecoderConfig(channels=4, hidden=8))
    density, colour = decoder(torch.randn(100, 4) * 10)
    assert (density >= 0).all() and (colour >= 0).all() and (colour <= 1).all()
    before = decoder_fingerprint(decoder)
    assert before == decoder_fingerprint(decoder)
    with torch.no_grad():
        decoder.net[0].weight[0, 0] += 1e-3
    assert decoder_fingerprint(decoder) != before


def test_down_up_sampling_keeps_constant_planes_and_blurs_detail():
    constant = torch.full((3, 2, 16, 16), 0.7)
    assert torch.allclose(down_up_sample(constant, 4), constant, atol=1e-6)
    noisy = torch.randn(3, 2, 16, 16)
    assert down_up_sample(noisy, 4).std() < 0.6 * noisy.std()
    assert torch.allclose(down_up_sample(noisy, 16), noisy, atol=1e-6)


@pytest.fixture(scope="module")
def tiny_avatar():
    plan = plan_avatars(count=1, first_seed=3, heldout_every=0)[0]
    renderer = TorchAvatarRenderer(grid_resolution=48, coarse_samples=32, fine_samples=16)
    return render_avatar(plan, renderer, CameraRig(), ViewPlan(views=16, image_size=24,
                                                                holdout_every=4))


@pytest.fixture(scope="module")
def imported_avatar(tiny_avatar, tmp_path_factory):
    """The tiny avatar exported as a NeRF-synthetic scene (split files, ``./train/r_0`` paths
    without ``.png``) and brought back through the importer, with no attributes: photometric
    supervision is all a fit gets, as for a user's own renders."""
    source = tmp_path_factory.mktemp("nerf_synthetic")
    for split in ("train", "test"):
        (source / split).mkdir()
        indices = tiny_avatar.split_indices(split)
        frames = []
        for number, index in enumerate(indices):
            pixels = (tiny_avatar.images[index] * 255).round().byte().numpy()
            Image.fromarray(pixels, mode="RGBA").save(source / split / f"r_{number}.png")
            matrix = tiny_avatar.transforms.frames[index].camera_to_world.tolist()
            frames.append({"file_path": f"./{split}/r_{number}", "transform_matrix": matrix})
        (source / f"transforms_{split}.json").write_text(json.dumps(
            {"camera_angle_x": tiny_avatar.transforms.fov_x, "frames": frames}))
    return import_nerf_synthetic(source, recentre=False)


@torch.no_grad()
def held_out_psnr(avatar, planes, decoder) -> float:
    test = torch.tensor(avatar.split_indices("test"))
    colour, opacity = render_cameras(TriplaneField(planes, decoder), avatar.cameras()[test], EVAL)
    return view_psnr(straight_rgba(colour, opacity), avatar.images[test])


def test_photometric_fit_of_an_imported_avatar_raises_held_out_psnr(imported_avatar):
    """Photometric loss alone (no 3D supervision, no attributes), on an imported folder."""
    assert imported_avatar.attributes == {}
    tiny_avatar = imported_avatar
    target = fit_target_from_views(tiny_avatar)
    settings = FitSettings(resolution=16, channels=8, rays_per_step=256, points_per_step=0,
                           rescale_probability=0.0, plane_learning_rate=0.05,
                           decoder_learning_rate=1e-2,
                           render=VolumeRenderSettings(coarse_samples=24, fine_samples=8,
                                                       jitter=True))
    config = DecoderConfig(channels=8, hidden=32)
    start_decoder = TriplaneDecoder(config)
    start = held_out_psnr(tiny_avatar, initial_planes(settings, torch.Generator().manual_seed(0)),
                          start_decoder)
    decoder, planes = fit_decoder_jointly([target], config, settings, steps=150,
                                          avatars_per_step=1, seed=0)
    fitted = held_out_psnr(tiny_avatar, planes[tiny_avatar.avatar_id], decoder)
    print(f"held-out PSNR {start:.2f} -> {fitted:.2f} dB")
    assert fitted > start + 8.0, (start, fitted)
    assert fitted > 19.0


def test_non_finite_loss_names_the_avatar(tiny_avatar):
    target = fit_target_from_views(tiny_avatar)
    target.premultiplied = torch.full_like(target.premultiplied, float("nan"))
    settings = FitSettings(resolution=8, channels=4, rays_per_step=32, points_per_step=0)
    with pytest.raises(NonFiniteLossError, match=tiny_avatar.avatar_id):
        fit_decoder_jointly([target], DecoderConfig(channels=4, hidden=8), settings, steps=2,
                            avatars_per_step=1, seed=0)
