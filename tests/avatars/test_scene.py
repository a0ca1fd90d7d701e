"""Procedural avatars: geometry where the conventions say, view-consistent renders."""

import torch

from rodin_pipelines.avatars.attributes import AvatarAttributes, sample_attributes
from rodin_pipelines.avatars.backends.torch_renderer import TorchAvatarRenderer
from rodin_pipelines.avatars.procedural import ViewPlan, plan_avatars, render_avatar
from rodin_pipelines.avatars.scene import EXACT_BAND, SceneSettings, bake_avatar_scene
from rodin_pipelines.rendering.camera_rig import CameraRig, sample_rig_cameras
from rodin_pipelines.rendering.cameras import Cameras, frontal_camera_to_world, project_points

SMALL = dict(scene={"grid_resolution": 48}, coarse_samples=32, fine_samples=16)


def attributes_with(**changes) -> AvatarAttributes:
    return AvatarAttributes.from_dict({**sample_attributes(7).to_dict(), **changes})


def test_head_is_inside_the_cube_face_towards_plus_z_and_up_is_plus_y():
    scene = bake_avatar_scene(attributes_with(hat="none", hairstyle="bald"),
                              SceneSettings(grid_resolution=64))
    points = torch.tensor([[0.0, 0.12, 0.0], [0.0, 0.12, 0.9], [0.0, 0.9, 0.0]])
    density, _ = scene(points)
    assert density[0] > 100.0  # inside the head
    assert density[1] < 1e-3 and density[2] < 1e-3  # in front of the face, above the head
    # The nose sticks out towards +z, so the face's front is further out than the back of the head.
    front = scene.distance(torch.tensor([[0.0, 0.0, 0.45]]))
    back = scene.distance(torch.tensor([[0.0, 0.0, -0.45]]))
    assert front < back


def test_point_on_the_avatar_projects_to_an_opaque_pixel_in_every_view():
    rig = CameraRig()
    cameras = Cameras(torch.cat([frontal_camera_to_world(rig.radius),
                                 sample_rig_cameras(rig, 12, seed=3)]), rig.fov_x, 32, 32)
    images = TorchAvatarRenderer(**SMALL).render(sample_attributes(3), cameras)
    inside_head = torch.tensor([[0.0, 0.12, 0.0], [0.1, 0.2, 0.05]])
    pixels, depth = project_points(inside_head, cameras)
    assert (depth > 0).all()
    columns = pixels[..., 0].floor().long().clamp(0, 31)
    rows = pixels[..., 1].floor().long().clamp(0, 31)
    alpha = images[torch.arange(len(cameras))[:, None], rows, columns, 3]
    assert (alpha > 0.99).all(), alpha
    # A corner of the cube, outside the bust, is transparent from the front.
    corner_pixels, _ = project_points(torch.tensor([[0.95, 0.95, 0.95]]), cameras[0])
    u, v = corner_pixels[0, 0].long().clamp(0, 31).tolist()
    assert images[0, v, u, 3] < 0.01


def test_attributes_change_the_pixels_where_expected():
    renderer = TorchAvatarRenderer(**SMALL)
    cameras = Cameras(frontal_camera_to_world(2.8), CameraRig().fov_x, 32, 32)
    base = attributes_with(hat="none", glasses="none", clothing_colour="red")
    blue = attributes_with(hat="none", glasses="none", clothing_colour="blue")
    red_shirt = renderer.render(base, cameras)[0, -3:, 8:24, :3].mean(dim=(0, 1))
    blue_shirt = renderer.render(blue, cameras)[0, -3:, 8:24, :3].mean(dim=(0, 1))
    assert red_shirt[0] > red_shirt[2] + 0.2 and blue_shirt[2] > blue_shirt[0] + 0.2
    with_hat = renderer.render(attributes_with(hat="top_hat", glasses="none"), cameras)
    without = renderer.render(attributes_with(hat="none", glasses="none"), cameras)
    assert with_hat[0, :6, :, 3].sum() > without[0, :6, :, 3].sum() + 5.0


def test_render_avatar_writes_frontal_first_and_held_out_views():
    plan = plan_avatars(count=1, first_seed=5, heldout_every=0)[0]
    views = ViewPlan(views=12, image_size=24, holdout_every=4, paraphrases=2)
    avatar = render_avatar(plan, TorchAvatarRenderer(**SMALL), CameraRig(), views)
    splits = [frame.split for frame in avatar.transforms.frames]
    assert splits[0] == "frontal" and splits.count("test") == 3 and splits.count("train") == 9
    assert avatar.images.shape == (13, 24, 24, 4)
    assert len(avatar.captions) == 3 and avatar.captions[0]
    assert torch.allclose(avatar.transforms.frames[0].camera_to_world, frontal_camera_to_world(2.8)[0])


def test_views_are_seeded_and_favour_the_front():
    rig = CameraRig()
    first, again = sample_rig_cameras(rig, 200, 1), sample_rig_cameras(rig, 200, 1)
    assert torch.equal(first, again)
    eyes = first[:, :3, 3]
    assert (eyes[:, 2] > 0).float().mean() > 0.6  # in front of the face (+z) more often than not
    assert (eyes[:, 1] > 0).float().mean() > 0.6  # mostly from above the horizon


def test_narrow_band_bake_is_exact_near_surfaces_and_renders_the_same_images():
    settings = SceneSettings(grid_resolution=48)
    for seed in (3, 11):
        attributes = sample_attributes(seed)
        dense = bake_avatar_scene(attributes, settings, narrow_band=False)
        banded = bake_avatar_scene(attributes, settings)
        near = dense.volume[0, 0].abs() < EXACT_BAND
        assert near.float().mean() > 0.01
        assert torch.equal(banded.volume[0][:, near], dense.volume[0][:, near])
        assert torch.equal(banded.volume[0, 0] > 0, dense.volume[0, 0] > 0)  # inside stays inside
        # Far from surfaces the distance is interpolated from the coarse grid: close, not equal.
        assert (banded.volume[0, 0] - dense.volume[0, 0]).abs().max() < 0.1
        assert torch.allclose(torch.stack(banded.occupied_box()),
                              torch.stack(dense.occupied_box()))
    rig = CameraRig()
    cameras = Cameras(torch.cat([frontal_camera_to_world(rig.radius),
                                 sample_rig_cameras(rig, 4, seed=5)]), rig.fov_x, 32, 32)
    banded_images = TorchAvatarRenderer(**SMALL).render(sample_attributes(3), cameras)
    dense_images = TorchAvatarRenderer(**SMALL, narrow_band_bake=False).render(
        sample_attributes(3), cameras)
    assert (banded_images - dense_images).abs().max() < 1e-3
