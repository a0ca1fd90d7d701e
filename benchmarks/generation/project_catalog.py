"""What the generation benchmarks read from the Kedro project (run from the project root)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from rodin_pipelines.generation.generator import (MODEL_INPUTS, GenerationModels,
                                                  load_generation_models)


def catalog_entries(env: str, names: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The catalog's ``names`` loaded, and the parameters, of environment ``env``."""
    bootstrap_project(Path.cwd())
    with KedroSession.create(env=env) as session:
        context = session.load_context()
        return {name: context.catalog.load(name) for name in names}, context.params


def benchmark_parser(doc: str | None, out: Path | None = None) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring as help, ``--env`` (the Kedro environment whose
    models and parameters it reads) and ``--out`` (the JSON it writes; ``out`` by default)."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="base")
    parser.add_argument("--out", type=Path, default=out)
    return parser


def generation_models(env: str, names: Iterable[str]
                      ) -> tuple[GenerationModels, dict[str, Any], dict[str, Any]]:
    """The trained generation models of environment ``env``, the catalog's ``names`` beside
    them (loaded) and the parameters."""
    loaded, params = catalog_entries(env, [*names, *MODEL_INPUTS])
    models = load_generation_models(*(loaded[name] for name in MODEL_INPUTS), params["encoder"],
                                    params["diffusion"], params["fit"])
    return models, loaded, params
