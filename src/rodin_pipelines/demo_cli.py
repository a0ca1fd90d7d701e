"""``rodin-demo``: the demo page over the trained models of a project run.

    rodin-demo                          # http://127.0.0.1:7860, the default profile's models
    rodin-demo --env test               # the models of `kedro run --env test`
    rodin-demo --host 0.0.0.0 --port 8080

Opens the Kedro project around the working directory through a Kedro session (its catalog and
parameters, as the notebook does) and serves :mod:`rodin_pipelines.demo.page`. Models that are
missing are named on the page with the ``kedro run`` that makes them; results are written where
the ``generate`` stage writes them, through its catalog dataset.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rodin_pipelines.demo.requests import DemoSettings
from rodin_pipelines.generate_cli import project_root
from rodin_pipelines.generation.generator import (
    MODEL_INPUTS, GenerationModels, load_generation_models,
)
from rodin_pipelines.generation.outputs import GeneratedAvatar

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
RESULTS_DATASET = "generated_avatars"
ASTRONAUT_FILE = "examples/astronaut.png"
"""Where, under the page's cache folder, the astronaut photograph is written for the examples."""


class KedroProject:
    """A project run's catalog and parameters (a Kedro session in ``root`` at ``env``), as the
    page's :class:`~rodin_pipelines.demo.service.Project`."""

    def __init__(self, root: Path, env: str | None) -> None:
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(root)
        self.root, self.env = root, env
        self._session = KedroSession.create(project_path=root, env=env)
        context = self._session.load_context()
        self.catalog = context.catalog
        self.parameters: dict[str, Any] = context.params
        self.results_folder = (root / self.catalog[RESULTS_DATASET].path).resolve()

    def command(self, dataset: str) -> str:
        """The ``kedro run`` that makes ``dataset``: its stage's pipeline."""
        from kedro.framework.project import pipelines

        from rodin_pipelines.pipeline_registry import STAGE_ORDER

        env = f" --env {self.env}" if self.env else ""
        stages = [*STAGE_ORDER, *sorted(set(pipelines) - set(STAGE_ORDER) - {"__default__"})]
        for stage in stages:
            if stage in pipelines and dataset in pipelines[stage].all_outputs():
                return f"kedro run{env} --pipeline {stage}"
        return f"kedro run{env}"

    def missing_models(self) -> dict[str, str]:
        return {name: self.command(name) for name in MODEL_INPUTS
                if not self.catalog.exists(name)}

    def load_models(self) -> GenerationModels:
        parameters = self.parameters
        return load_generation_models(*(self.catalog.load(name) for name in MODEL_INPUTS),
                                      parameters["encoder"], parameters["diffusion"],
                                      parameters["fit"])

    def save_results(self, results: dict[str, GeneratedAvatar]) -> None:
        self.catalog.save(RESULTS_DATASET, results)

    def _split(self, split: str) -> list[str]:
        if not self.catalog.exists("avatar_index"):
            return []
        index = self.catalog.load("avatar_index")
        return [str(i) for i in index.loc[index["split"] == split, "avatar_id"]]

    def training_avatars(self) -> list[str]:
        if not self.catalog.exists("avatar_embeddings"):
            return []
        embedded = self.catalog.load("avatar_embeddings")
        return [avatar for avatar in self._split("train") if avatar in embedded]

    def example_portraits(self, count: int) -> dict[str, Path]:
        from rodin_pipelines.rendering.transforms_json import image_path_of

        if not self.catalog.exists("avatars"):
            return {}
        avatars = self.catalog.load("avatars")
        paths = {}
        for avatar_id in [a for a in self._split("heldout") if a in avatars][:count]:
            views = avatars[avatar_id]()
            frame = views.transforms.frames[views.frontal_index()]
            paths[f"{avatar_id} (held out)"] = image_path_of(avatars[avatar_id].folder,
                                                            frame.file_path)
        return paths


def write_astronaut(folder: Path) -> Path:
    """scikit-image's astronaut photograph as a PNG under ``folder`` (the page's examples are
    files)."""
    from PIL import Image
    from skimage import data

    path = folder / ASTRONAUT_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(data.astronaut()).save(path)
    return path


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="rodin-demo", description=__doc__,
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
    commands.add_argument("--env", default=None, help="Kedro environment (e.g. test, paper)")
    commands.add_argument("--host", default=DEFAULT_HOST,
                          help=f"address to serve on (default {DEFAULT_HOST}: this machine only)")
    commands.add_argument("--port", type=int, default=DEFAULT_PORT,
                          help=f"port (default {DEFAULT_PORT})")
    return commands


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    root = project_root(command="rodin-demo")
    os.chdir(root)  # relative paths of the configuration (data/..., mlflow.db) are the project's
    project = KedroProject(root, args.env)
    settings = DemoSettings.from_parameters(project.parameters["demo"])
    cache = (root / settings.cache_folder).resolve()
    # Gradio keeps uploads and copies of what it shows in its cache: under data/ like the rest.
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    from rodin_pipelines.demo.page import build_page, launch
    from rodin_pipelines.demo.service import DemoService

    service = DemoService(project, settings)
    missing = service.missing_message()
    where = f"`{root}`, Kedro environment `{args.env or 'base'}`"
    banner = (f"**Models missing.** {missing}" if missing
              else f"Trained models of {where}. Generation runs on the CPU, one job at a "
              "time (a second click waits in the queue).")
    examples = {"astronaut": write_astronaut(cache),
                **project.example_portraits(settings.heldout_examples)}
    page = build_page(service, banner, examples)
    print(f"rodin-demo: {where}" + (f"; {missing}" if missing else ""), flush=True)
    launch(page, args.host, args.port, settings.max_upload_megabytes,
           [project.results_folder, cache])


if __name__ == "__main__":
    main()
