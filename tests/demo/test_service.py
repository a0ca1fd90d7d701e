"""The demo page's jobs refuse bad portraits with the file's name and the fix, before any model
runs (a stand-in project: nothing is trained here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from rodin_pipelines.demo.requests import DemoInputError, DemoSettings, portrait_block
from rodin_pipelines.demo.service import DemoService
from rodin_pipelines.settings import load_parameters

CONF = Path(__file__).resolve().parents[2] / "conf"


class TrainedProject:
    """Every model there; loading gives a stand-in no refused request may touch."""

    def __init__(self, folder: Path) -> None:
        self.parameters = load_parameters(CONF, "test")
        self.results_folder = folder
        self.saved: list = []

    def missing_models(self) -> dict[str, str]:
        return {}

    def load_models(self) -> object:
        return object()

    def save_results(self, results: dict) -> None:
        self.saved.append(results)


@pytest.fixture
def service(tmp_path: Path) -> DemoService:
    project = TrainedProject(tmp_path / "generated")
    return DemoService(project, DemoSettings.from_parameters(project.parameters["demo"]))


def test_an_unreadable_portrait_is_named_with_the_fix(service, tmp_path) -> None:
    broken = tmp_path / "holiday.png"
    broken.write_bytes(b"not an image")
    block = portrait_block(service.project.parameters["generate"], str(broken), 0)
    with pytest.raises(DemoInputError, match=r"^holiday\.png: .*Fix: give a PNG or JPEG"):
        service.generate(block)
    assert service.project.saved == []


def test_a_huge_portrait_is_refused_before_it_is_decoded(service, tmp_path) -> None:
    huge = tmp_path / "poster.png"
    Image.new("1", (9000, 9000)).save(huge)  # 81 million pixels in a few kilobytes
    block = portrait_block(service.project.parameters["generate"], str(huge), 0)
    with pytest.raises(DemoInputError, match=r"^poster\.png: image declares 9000 x 9000 pixels"):
        service.generate(block)
