"""Phase 2 at scale: resumable, sharded across 2 gloo processes, errors that name the avatar."""

from pathlib import Path

import pytest
import torch

from rodin_pipelines.avatars.backends.torch_renderer import TorchAvatarRenderer
from rodin_pipelines.avatars.procedural import ViewPlan, avatar_jobs, plan_avatars
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.rendering.camera_rig import CameraRig
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings
from rodin_pipelines.training.fit_targets import AvatarFitTargets
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.fitting import FitSettings, NonFiniteLossError
from rodin_pipelines.triplane.plane_jobs import PlaneFitBatch, PlaneFitJob, run_plane_fits
from rodin_pipelines.triplane.storage import read_triplane_metadata

SETTINGS = FitSettings(resolution=8, channels=4, rays_per_step=32, points_per_step=0,
                       render=VolumeRenderSettings(coarse_samples=8, fine_samples=0, jitter=True))


@pytest.fixture(scope="module")
def avatar_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("avatars")
    renderer = TorchAvatarRenderer(scene={"grid_resolution": 32}, coarse_samples=16, fine_samples=0)
    jobs = avatar_jobs(plan_avatars(4, 0, 0), renderer, CameraRig(),
                       ViewPlan(views=4, image_size=12, holdout_every=2, paraphrases=1))
    AvatarFolderDataset(str(root), progress=False).save(jobs)
    return root


def batch_for(root: Path, ids: list[str], fingerprint: str = "f1", processes: int = 1,
              steps: int = 3) -> PlaneFitBatch:
    decoder = TriplaneDecoder(DecoderConfig(channels=4, hidden=8, layers=1))
    jobs = tuple(PlaneFitJob(i, str(root / i), fingerprint, seed=n) for n, i in enumerate(ids))
    return PlaneFitBatch(jobs, decoder.config, decoder.state_dict(), SETTINGS, steps=steps,
                         load_target=AvatarFitTargets(), processes=processes)


def ids_of(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def test_rerun_skips_fitted_avatars_and_refits_changed_ones(avatar_root, tmp_path):
    ids = ids_of(avatar_root)
    first = run_plane_fits(batch_for(avatar_root, ids), tmp_path, progress=False)
    assert first.written == tuple(ids) and first.skipped == ()
    second = run_plane_fits(batch_for(avatar_root, ids), tmp_path, progress=False)
    assert second.written == () and second.skipped == tuple(ids)
    third = run_plane_fits(batch_for(avatar_root, ids[:1], fingerprint="f2"), tmp_path,
                           progress=False)
    assert third.written == tuple(ids[:1])


def test_two_gloo_processes_write_each_avatar_exactly_once(avatar_root, tmp_path):
    ids = ids_of(avatar_root)
    report = run_plane_fits(batch_for(avatar_root, ids, processes=2), tmp_path, progress=False)
    assert report.written == tuple(ids)
    shards = {i: read_triplane_metadata(tmp_path / f"{i}.safetensors")["shard"] for i in ids}
    # Round-robin: avatar n is done by rank n % 2 only, so no file is written twice.
    assert shards == {i: f"{n % 2}/2" for n, i in enumerate(ids)}


def test_missing_avatar_folder_is_named(avatar_root, tmp_path):
    batch = batch_for(avatar_root, ["no_such_avatar"])
    with pytest.raises(InputDataError, match="avatar folder not found"):
        run_plane_fits(batch, tmp_path / "planes", progress=False)


def test_non_finite_loss_stops_with_the_avatar_id_and_keeps_earlier_files(avatar_root, tmp_path):
    ids = ids_of(avatar_root)
    batch = batch_for(avatar_root, ids)
    poisoned = {k: torch.full_like(v, float("nan")) if k.endswith("weight") else v
                for k, v in batch.decoder_state.items()}
    good = run_plane_fits(batch_for(avatar_root, ids[:1]), tmp_path, progress=False)
    assert good.written == (ids[0],)
    bad = PlaneFitBatch(batch.jobs[1:], batch.decoder_config, poisoned, SETTINGS, steps=2,
                        load_target=AvatarFitTargets())
    with pytest.raises(NonFiniteLossError, match=ids[1]):
        run_plane_fits(bad, tmp_path, progress=False)
    assert sorted(p.stem for p in tmp_path.glob("*.safetensors")) == [ids[0]]
