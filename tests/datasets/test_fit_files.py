"""The shared decoder's folder is replaced whole: decoder, phase-1 planes and the phase1.json
that vouches for them always belong to one fit."""

import pytest
import torch
from kedro.io import DatasetError

from rodin_pipelines.datasets import fit_files
from rodin_pipelines.datasets.fit_files import SharedDecoderDataset
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.shared_decoder import SharedDecoderFit, SharedDecoderJob


def job(fingerprint: str, seed: int) -> SharedDecoderJob:
    def build() -> SharedDecoderFit:
        torch.manual_seed(seed)
        decoder = TriplaneDecoder(DecoderConfig(channels=2, hidden=4, layers=1))
        return SharedDecoderFit(decoder, {"a": torch.full((3, 2, 4, 4), float(seed))},
                                [{"loss": 1.0}], fingerprint, 0.1)
    return SharedDecoderJob(fingerprint, build)


def test_a_save_killed_before_phase1_json_keeps_the_old_fit_whole(tmp_path, monkeypatch):
    dataset = SharedDecoderDataset(str(tmp_path / "decoder"))
    dataset.save(job("old", seed=1))
    old = dataset.load()

    write_json = fit_files.atomic_write_json

    def killed_at_the_job_file(path, payload):
        if path.name == fit_files.JOB_FILE:
            raise KeyboardInterrupt  # a kill after the decoder and planes were written
        write_json(path, payload)

    monkeypatch.setattr(fit_files, "atomic_write_json", killed_at_the_job_file)
    with pytest.raises((KeyboardInterrupt, DatasetError)):
        dataset.save(job("new", seed=2))
    monkeypatch.undo()

    kept = dataset.load()
    assert kept.fingerprint == "old"
    assert torch.equal(kept.planes["a"], old.planes["a"])
    for name, weight in old.decoder.state_dict().items():
        assert torch.equal(kept.decoder.state_dict()[name], weight), name
    assert [p.name for p in tmp_path.iterdir()] == ["decoder"]

    dataset.save(job("new", seed=2))
    assert dataset.load().fingerprint == "new"
    assert torch.equal(dataset.load().planes["a"], torch.full((3, 2, 4, 4), 2.0))
