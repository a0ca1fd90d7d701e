"""Tri-plane and decoder files: round trips and clear errors for bad files."""

import pytest
import torch

from rodin_pipelines.errors import InputDataError
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder, decoder_fingerprint
from rodin_pipelines.triplane.normalisation import (
    PlaneStatistics,
    denormalise_planes,
    normalise_planes,
    plane_statistics,
)
from rodin_pipelines.triplane.storage import (
    load_decoder,
    load_triplane,
    read_triplane_metadata,
    save_decoder,
    save_triplane,
)


def test_triplane_round_trip_with_metadata(tmp_path):
    planes = torch.randn(3, 4, 8, 8)
    save_triplane(tmp_path / "a.safetensors", planes, {"avatar_id": "a", "decoder": "x1"})
    loaded, metadata = load_triplane(tmp_path / "a.safetensors", channels=4, resolution=8)
    assert torch.equal(loaded, planes)
    assert metadata == {"avatar_id": "a", "decoder": "x1"}
    assert read_triplane_metadata(tmp_path / "a.safetensors")["decoder"] == "x1"


def test_shape_that_does_not_match_the_decoder_names_the_file(tmp_path):
    save_triplane(tmp_path / "a.safetensors", torch.randn(3, 4, 8, 8), {})
    with pytest.raises(InputDataError, match="does not match the decoder") as error:
        load_triplane(tmp_path / "a.safetensors", channels=16, resolution=8)
    assert error.value.path.name == "a.safetensors"


def test_damaged_file_is_named(tmp_path):
    (tmp_path / "b.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(InputDataError, match="not a tri-plane"):
        load_triplane(tmp_path / "b.safetensors")


def test_decoder_round_trip_keeps_weights_and_fingerprint(tmp_path):
    decoder = TriplaneDecoder(DecoderConfig(channels=4, hidden=8, layers=1))
    save_decoder(tmp_path, decoder)
    loaded = load_decoder(tmp_path)
    assert decoder_fingerprint(loaded) == decoder_fingerprint(decoder)
    features = torch.randn(5, 4)
    assert torch.equal(loaded(features)[0], decoder(features)[0])
    with pytest.raises(InputDataError, match="decoder file not found"):
        load_decoder(tmp_path / "missing")


def test_plane_statistics_normalise_to_unit_variance_and_invert():
    planes = [torch.randn(3, 2, 6, 6) * torch.tensor([2.0, 0.5]).view(1, 2, 1, 1) + 3.0
              for _ in range(4)]
    stats = plane_statistics(planes)
    normalised = torch.stack([normalise_planes(p, stats) for p in planes])
    per_channel = normalised.transpose(0, 2).reshape(2, -1)
    assert torch.allclose(per_channel.mean(dim=1), torch.zeros(2), atol=1e-5)
    assert torch.allclose(per_channel.std(dim=1, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.allclose(denormalise_planes(normalised[0], stats), planes[0], atol=1e-5)


def test_plane_statistics_by_hand_and_through_their_file(tmp_path):
    # Two one-channel avatars at R = 1: values 1, 2, 3 and 3, 4, 5 (one per plane), so the
    # channel pools 6 values with mean 3 and population std sqrt(10/6).
    planes = [torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1, 1),
              torch.tensor([3.0, 4.0, 5.0]).view(3, 1, 1, 1)]
    stats = plane_statistics(planes)
    assert (stats.mean.tolist(), stats.count, stats.channels) == ([3.0], 6, 1)
    assert stats.std.tolist() == pytest.approx([(10 / 6) ** 0.5])
    assert stats.mean.dtype == stats.std.dtype == torch.float32

    from rodin_pipelines.datasets.fit_files import PlaneStatisticsDataset, TensorFileDataset

    path = str(tmp_path / "plane_statistics.safetensors")
    PlaneStatisticsDataset(path).save(stats)
    stored = TensorFileDataset(path).load()  # the file keeps its layout: three named tensors
    assert set(stored) == {"mean", "std", "count"}
    assert stored["count"].dtype == torch.int64 and int(stored["count"]) == 6
    loaded = PlaneStatisticsDataset(path).load()
    assert torch.equal(loaded.mean, stats.mean) and torch.equal(loaded.std, stats.std)
    assert loaded.count == 6
    with pytest.raises(ValueError, match=r"not a plane statistics file: \['std'\] missing"):
        PlaneStatistics.from_dict({"mean": stats.mean, "count": torch.tensor(6)})
    by_hand = PlaneStatistics(mean=torch.zeros(2), std=torch.ones(2))
    assert set(by_hand.to_dict()) == {"mean", "std"}
    assert PlaneStatistics.from_dict(by_hand.to_dict()).count is None


@pytest.mark.parametrize("planes, problem", [
    (torch.randn(1, 3, 4, 8, 8), r"must be \(3, C, R, R\), got \(1, 3, 4, 8, 8\)"),
    (torch.randn(3, 4, 8, 8).index_fill_(0, torch.tensor([1]), float("nan")), "NaN or infinite"),
])
def test_a_batch_or_non_finite_values_in_a_triplane_file_are_named(tmp_path, planes, problem):
    from safetensors.torch import save_file

    save_file({"planes": planes}, str(tmp_path / "c.safetensors"))
    with pytest.raises(InputDataError, match=problem) as error:
        load_triplane(tmp_path / "c.safetensors")
    assert error.value.path.name == "c.safetensors"


@pytest.mark.parametrize("declared", [2**63, 2**40, 0])
def test_an_absurd_header_length_is_a_damaged_file_that_is_refitted(tmp_path, declared, caplog):
    from rodin_pipelines.triplane.plane_jobs import is_fitted

    path = tmp_path / "d.safetensors"
    path.write_bytes(declared.to_bytes(8, "little") + b'{"__metadata__": {}}')
    with pytest.raises(InputDataError, match="damaged safetensors") as error:
        read_triplane_metadata(path)
    assert error.value.path == path
    assert is_fitted(path, "any fingerprint") is False
    assert "d.safetensors" in caplog.text and "fitted again" in caplog.text
