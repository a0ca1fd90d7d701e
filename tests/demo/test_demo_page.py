"""``rodin-demo --env test`` served for real and driven as a person and a script would: headless
Chromium (Debian's ``chromium``, through Playwright) and ``gradio_client``.

The browser test is never skipped: without Chromium it fails, naming the package to install
(``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from rodin_pipelines.datasets.generated_files import FILES

pytestmark = pytest.mark.slow

RODIN_DEMO = str(Path(sys.executable).with_name("rodin-demo"))
PROMPT = "a smiling woman with long red hair in a green shirt"
START_SECONDS = 300
"""Imports (torch, Kedro, Gradio) and the Kedro session, on two shared cores."""
JOB_SECONDS = 600
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",  # WebGL without a GPU
    "--autoplay-policy=no-user-gesture-required",
]
BACKGROUND_TOLERANCE = 24
"""How far (0-255, any channel) a pixel may be from the viewer's background and still count as
background: anti-aliasing and SwiftShader's dithering."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(project: Path, log: Path) -> Iterator[str]:
    """``rodin-demo --env test`` on a free port in ``project``, until the block ends."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    with log.open("w") as output:
        server = subprocess.Popen([RODIN_DEMO, "--env", "test", "--port", str(port)],
                                  cwd=project, stdout=output, stderr=subprocess.STDOUT,
                                  env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, f"rodin-demo stopped:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no page after {START_SECONDS} s:\n" + \
                log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def demo(trained_test_project: Path, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("demo") / "rodin-demo.log"
    with serving(trained_test_project, log) as url:
        yield url, trained_test_project


def files_outside_data(project: Path) -> dict[str, float]:
    """Every file of ``project`` outside ``data/``, with its modification time."""
    return {str(path.relative_to(project)): path.stat().st_mtime
            for path in project.rglob("*")
            if path.is_file() and path.relative_to(project).parts[0] != "data"}


def drawn_share(screenshot: bytes) -> float:
    """The share of pixels that differ from the picture's most common colour (the viewer's
    background)."""
    pixels = np.asarray(Image.open(__import__("io").BytesIO(screenshot)).convert("RGB"))
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    background = colours[counts.argmax()].astype(int)
    far = np.abs(pixels.astype(int) - background).max(axis=-1) > BACKGROUND_TOLERANCE
    return float(far.mean())


def test_a_text_avatar_turns_in_the_browser(demo, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "no Chromium: apt-get install chromium (.ci/run installs it)"
    url, project = demo
    before = files_outside_data(project)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(url)
        page.locator("#prompt textarea").fill(PROMPT)
        page.locator("#text-generate").click()
        page.locator("#glb").wait_for(state="visible", timeout=JOB_SECONDS * 1000)

        canvas = page.locator("#viewer canvas").first
        canvas.wait_for(state="visible")
        share, deadline = 0.0, time.monotonic() + 60
        while share < 0.01 and time.monotonic() < deadline:  # the mesh loads, then draws
            time.sleep(1)
            share = drawn_share(canvas.screenshot())
        assert share >= 0.01, f"the 3D view drew {share:.2%} of its pixels"

        video = page.locator("#turntable video").first
        video.wait_for(state="attached")
        page.wait_for_function("v => v.readyState >= 1 && v.duration > 0",
                               arg=video.element_handle(), timeout=30000)
        played = video.evaluate("async v => { v.muted = true; await v.play(); "
                                "await new Promise(r => setTimeout(r, 500)); "
                                "return [v.duration, v.currentTime, v.paused]; }")
        assert played[0] > 0 and played[1] > 0 and not played[2], played

        with page.expect_download() as download:
            page.locator("#glb").click()
        glb = tmp_path / "mesh.glb"
        download.value.save_as(glb)
        page.screenshot(path=str(tmp_path / "demo_page.png"), full_page=True)
        browser.close()

    mesh = trimesh.load(glb, force="mesh")
    assert len(mesh.vertices) > 0 and len(mesh.faces) > 0
    assert files_outside_data(project) == before  # everything the page wrote is under data/
    results = project / "data" / "07_model_output" / "generated"
    made = [p for p in results.glob("demo-text-*") if (p / "mesh.glb").is_file()]
    assert made and all((made[0] / f).is_file() for f in FILES)


def test_a_script_calls_text_to_avatar(demo, tmp_path) -> None:
    from gradio_client import Client

    url, project = demo
    client = Client(url, download_files=str(tmp_path / "downloads"), verbose=False)
    with pytest.raises(Exception, match="Type a prompt first"):
        client.predict("  ", 1, 0, 1.5, 4, 3, api_name="/text_to_avatar")
    outputs = client.predict(PROMPT, 1, 3, 1.5, 4, 3, api_name="/text_to_avatar")
    _, mesh, video, views, description = outputs[:5]  # the first is the results list
    assert description["prompt"] == PROMPT and description["seed"] == 3
    assert description["base_steps"] == 4 and description["upsampler_steps"] == 3
    folder = project / "data" / "07_model_output" / "generated" / description["result"]
    assert Path(description["folder"]) == folder
    assert all((folder / f).stat().st_size > 0 for f in FILES)
    assert json.loads((folder / "description.json").read_text())["prompt"] == PROMPT
    # The files came down to the script: the GLB, the turntable, the views.
    assert len(trimesh.load(mesh, force="mesh").vertices) > 0
    assert Path(video).read_bytes() == (folder / "turntable.mp4").read_bytes()
    assert Image.open(views).size == Image.open(folder / "views.png").size


def test_without_models_the_page_opens_and_names_the_runs(project_copy, tmp_path) -> None:
    from gradio_client import Client

    with serving(project_copy, tmp_path / "rodin-demo.log") as url:
        with urllib.request.urlopen(f"{url}/config", timeout=30) as response:
            page = response.read().decode()
        assert "kedro run --env test --pipeline encoder" in page
        assert "kedro run --env test --pipeline diffusion" in page
        with pytest.raises(Exception, match="--pipeline fit"):
            Client(url, verbose=False).predict(PROMPT, 1, 0, 1.5, 4, 3,
                                               api_name="/text_to_avatar")
