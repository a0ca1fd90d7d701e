"""The page's jobs: load the trained models once, run the ``generate`` stage's library code on a
request, save the results where the stage saves them, and read them back for display.

The project (catalog, parameters, which models are missing) comes in as a :class:`Project`, which
``rodin_pipelines.demo_cli`` builds from a Kedro session; nothing here imports Kedro.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from torch import Tensor

from rodin_pipelines.demo.requests import (
    SAMPLING_KEYS, DemoInputError, DemoSettings, edit_block, fresh_result_name,
)
from rodin_pipelines.errors import InputDataError
from rodin_pipelines.generation.generator import (
    GenerationModels, generate_results, results_from_latents,
)
from rodin_pipelines.generation.outputs import GeneratedAvatar

AVATAR_SOURCE = "avatar:"
RESULT_SOURCE = "result:"


class Project(Protocol):
    """A project run's models and parameters, and where results go."""

    parameters: dict[str, Any]
    results_folder: Path

    def missing_models(self) -> dict[str, str]:
        """Catalog name → the command that makes it, for each model generation needs that is
        not there."""

    def load_models(self) -> GenerationModels:
        """The trained models (only called when none is missing)."""

    def save_results(self, results: dict[str, GeneratedAvatar]) -> None:
        """Write results as the ``generate`` stage does (its catalog dataset)."""

    def training_avatars(self) -> list[str]:
        """Ids of the training avatars with a CLIP latent (an edit can start from them)."""

    def example_portraits(self, count: int) -> dict[str, Path]:
        """Frontal renders of up to ``count`` held-out avatars, by label."""


@dataclass(frozen=True)
class ResultFiles:
    """One result folder, as the page shows it."""

    name: str
    folder: Path
    description: dict[str, Any]

    @property
    def views(self) -> Path:
        return self.folder / "views.png"

    @property
    def turntable(self) -> Path:
        return self.folder / "turntable.mp4"

    @property
    def triplane(self) -> Path:
        return self.folder / "triplane.safetensors"

    @property
    def mesh(self) -> Path | None:
        """``mesh.glb``, or ``None`` when the sampled field had no surface."""
        path = self.folder / "mesh.glb"
        return path if path.is_file() else None

    @classmethod
    def read(cls, results_folder: Path, name: str) -> ResultFiles:
        folder = results_folder / name
        description = json.loads((folder / "description.json").read_text(encoding="utf-8"))
        return cls(name=name, folder=folder, description=description)


class DemoService:
    """Runs the page's requests one at a time and remembers this server's results' latents (an
    edit of a result starts from its latent, which the result's files do not hold)."""

    def __init__(self, project: Project, settings: DemoSettings) -> None:
        self.project = project
        self.settings = settings
        self._models: GenerationModels | None = None
        self._latents: dict[str, Tensor] = {}
        self._lock = threading.Lock()  # Gradio's queue runs one job at a time; so do API calls

    def missing_message(self) -> str | None:
        """What to run before the page can generate, or ``None`` when everything is there."""
        missing = self.project.missing_models()
        if not missing:
            return None
        commands = sorted(set(missing.values()), key=list(missing.values()).index)
        return ("This project has no trained " + ", ".join(f"`{name}`" for name in missing)
                + " yet. Make " + ("it" if len(missing) == 1 else "them") + " with "
                + " then ".join(f"`{command}`" for command in commands)
                + ", then restart `rodin-demo`.")

    def models(self) -> GenerationModels:
        message = self.missing_message()
        if message is not None:
            raise DemoInputError(message)
        if self._models is None:
            self._models = self.project.load_models()
        return self._models

    def generate(self, block: dict[str, Any], latents: Tensor | None = None,
                 source: str | None = None) -> list[ResultFiles]:
        """Results of a ``generate`` block (from its mode's source, or from ``latents``
        ``(B, D)`` recorded as ``source``), saved; an edit's edited results come first."""
        with self._lock:
            models = self.models()
            existing = {p.name for p in self.project.results_folder.glob("*")}
            block = {**block, "name": fresh_result_name(self.settings.name_prefix,
                                                        block["mode"], existing)}
            parameters = self.project.parameters
            try:
                if latents is None:
                    results = generate_results(models, block, parameters["render"],
                                               parameters["diffusion"]["sampling"],
                                               parameters["encoder"]["prior"]["sampling"],
                                               progress=True)
                else:
                    results = results_from_latents(models, latents, source or "", block,
                                                   parameters["render"],
                                                   parameters["diffusion"]["sampling"],
                                                   progress=True,
                                                   prior_sampling=parameters["encoder"]["prior"]
                                                   ["sampling"])
            except InputDataError as error:  # a file the user gave: say its problem and fix
                fix = f" Fix: {error.fix}." if error.fix else ""
                raise DemoInputError(f"{error.path.name}: {error.problem}.{fix}") from error
            self.project.save_results(results)
            self._latents.update({name: result.latent for name, result in results.items()
                                  if result.latent is not None})
        names = sorted(results, key=lambda name: "-unedited-" in name)
        return [ResultFiles.read(self.project.results_folder, name) for name in names]

    def edit(self, source: str | None, edit_text: str | None, strength: float,
             refine_steps: float) -> list[ResultFiles]:
        """An edit of a training avatar (``avatar:<id>``, the configured seed and sampling) or
        of this server's result (``result:<name>``: its latent, seed and sampling, so the
        unedited result is that result again)."""
        generate = self.project.parameters["generate"]
        if source and source.startswith(RESULT_SOURCE):
            name = source.removeprefix(RESULT_SOURCE)
            if name not in self._latents:
                raise DemoInputError(f"{name} was made before this page (re)started, so its "
                                     "latent is gone: pick a training avatar or a newer result.")
            made = ResultFiles.read(self.project.results_folder, name).description
            source_text = (made.get("prompt") if made.get("mode") == "text" else None) \
                or generate["edit"]["source_text"]
            block = edit_block(generate, source, source_text, edit_text, strength,
                               refine_steps, seed=made["seed"],
                               sampling={k: made[k] for k in SAMPLING_KEYS if k in made})
            return self.generate(block, self._latents[name][None], source)
        block = edit_block(generate, source, generate["edit"]["source_text"], edit_text,
                           strength, refine_steps, seed=generate["seed"])
        return self.generate(block)

    def edit_sources(self, session_results: list[str]) -> list[str]:
        """What the Edit tab offers: this session's results (newest first), then the training
        avatars."""
        results = [f"{RESULT_SOURCE}{name}" for name in reversed(session_results)
                   if name in self._latents]
        return results + [f"{AVATAR_SOURCE}{avatar}" for avatar in self.project.training_avatars()]
