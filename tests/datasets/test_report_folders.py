"""A report folder is written whole, in plain formats, and only inside itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from rodin_pipelines.datasets.report_folders import ReportFolderDataset
from rodin_pipelines.evaluation.generation_report import GenerationReport


def test_pictures_documents_and_features_round_trip_and_a_save_replaces_the_folder(tmp_path):
    dataset = ReportFolderDataset(str(tmp_path / "report"))
    picture = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    features = np.linspace(0, 1, 6).reshape(2, 3)
    dataset.save(GenerationReport({}, {"a/x.png": picture}, {"a/list.json": {"k": [1]}},
                                  {"features/f.npy": features}))
    files = dataset.load()
    assert sorted(files) == ["a/list.json", "a/x.png", "features/f.npy"]
    assert np.array_equal(np.asarray(Image.open(files["a/x.png"])), picture)
    assert json.loads(files["a/list.json"].read_text()) == {"k": [1]}
    assert np.array_equal(np.load(files["features/f.npy"]), features)
    dataset.save(GenerationReport({}, {"b.png": picture}))
    assert sorted(dataset.load()) == ["b.png"]  # nothing stale from the previous report


def test_a_name_leaving_the_folder_is_refused_and_the_old_report_survives(tmp_path):
    dataset = ReportFolderDataset(str(tmp_path / "report"))
    picture = np.zeros((1, 1, 4), np.uint8)
    dataset.save(GenerationReport({}, {"keep.png": picture}))
    with pytest.raises(Exception, match="would be written outside"):
        dataset.save(GenerationReport({}, {"../escape.png": picture}))
    assert sorted(dataset.load()) == ["keep.png"]
    assert not (tmp_path / "escape.png").exists()
