"""Decoder, random scaling and fitting on a real (tiny) rendered avatar."""

import pytest
import torch

from rodin_pipelines.avatars.backends.torch_renderer import TorchAvatarRenderer
from rodin_pipelines.avatars.exporter import export_nerf_synthetic
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
from rodin_pipelines.rendering.cameras import Cameras, frontal_camera_to_world
from rodin_pipelines.rendering.mesh_export import mesh_from_field
from rodin_pipelines.training.fit_targets import fit_target_from_views
from rodin_pipelines.triplane.supervision import FitTarget

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
    renderer = TorchAvatarRenderer(scene={"grid_resolution": 48}, coarse_samples=32,
                                   fine_samples=16)
    return render_avatar(plan, renderer, CameraRig(), ViewPlan(views=16, image_size=24,
                                                                holdout_every=4))


@pytest.fixture(scope="module")
def imported_avatar(tiny_avatar, tmp_path_factory):
    """The tiny avatar exported as a NeRF-synthetic scene (split files, ``./train/r_0`` paths
    without ``.png``) and brought back through the importer, with no attributes: photometric
    supervision is all a fit gets, as for a user's own renders."""
    source = export_nerf_synthetic(tiny_avatar, tmp_path_factory.mktemp("nerf_synthetic"))
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


def test_mesh_of_a_fitted_ball_is_closed_and_the_right_size():
    """A sphere-like avatar, fitted by 3D supervision alone, meshes to a closed ~0.5 ball."""
    radius = 0.5

    def ball(points):
        inside = torch.sigmoid((radius - points.norm(dim=-1)) / 0.01)
        return 200.0 * inside, torch.tensor([0.8, 0.3, 0.2]).expand(points.shape[0], 3)

    surface = torch.nn.functional.normalize(torch.randn(4000, 3), dim=-1) * radius
    target = FitTarget("ball", torch.zeros(1, 1, 4),
                       Cameras(frontal_camera_to_world(3.0), 0.7, 1, 1), ball, surface)
    settings = FitSettings(resolution=16, channels=8, rays_per_step=0, points_per_step=2048,
                           rescale_probability=0.0, plane_learning_rate=0.05,
                           decoder_learning_rate=1e-2)
    decoder, planes = fit_decoder_jointly([target], DecoderConfig(channels=8, hidden=32),
                                          settings, steps=200, avatars_per_step=1, seed=0)
    mesh = mesh_from_field(TriplaneField(planes["ball"], decoder), resolution=48)
    assert mesh.is_watertight
    # Small floaters where three plane projections overlap outside the ball can appear at this
    # tiny size (R = 16); the body is the largest connected part.
    mesh = max(mesh.split(only_watertight=False), key=lambda part: len(part.faces))
    assert mesh.is_watertight
    distances = torch.from_numpy(mesh.vertices).float().norm(dim=-1)
    assert abs(distances.mean().item() - radius) < 0.05
    expected_volume = 4 / 3 * 3.14159 * radius**3
    assert abs(mesh.volume - expected_volume) / expected_volume < 0.2


def test_batched_avatars_do_not_leak_into_each_other(tiny_avatar):
    """Several avatars per step share tensors, never gradients: avatar 0's loss moves only
    avatar 0's plane, and every training ray reaches the field (none misses the cube)."""
    from rodin_pipelines.triplane.fitting import fit_losses

    target = fit_target_from_views(tiny_avatar)
    other = fit_target_from_views(tiny_avatar)
    other.avatar_id = "other"
    settings = FitSettings(resolution=8, channels=4, rays_per_step=64, points_per_step=0,
                           rescale_probability=0.0)
    decoder = TriplaneDecoder(DecoderConfig(channels=4, hidden=8))
    planes = (torch.randn(2, 3, 4, 8, 8) * 0.1).requires_grad_()
    losses = fit_losses(planes, decoder, [target, other], settings, torch.Generator())
    assert losses["per_avatar"].shape == (2,)
    losses["per_avatar"][0].backward()
    assert planes.grad[0].abs().sum() > 0 and planes.grad[1].abs().sum() == 0
    crossing = target.pixels_crossing_the_cube()
    assert 0 < len(crossing) <= target.premultiplied.shape[0] * target.premultiplied.shape[1]
