"""``python -m rodin_pipelines.dvc_parameters [params.yaml]``: the parameters ``kedro run`` sees
in the Kedro environment of ``KEDRO_ENV``, written where DVC's stages read them.

DVC tracks files, not environment variables, and a stage reading ``conf/base`` alone misses a
change in ``conf/paper`` or a switch of ``KEDRO_ENV``. So the first stage of ``dvc.yaml`` runs this
every time (it is cheap) and the others read their keys from its output: a stage reruns exactly
when the values Kedro would give it changed, whichever environment or file changed them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from rodin_pipelines.atomic_files import atomic_write_text
from rodin_pipelines.settings import CONFIG_LOADER_ARGS, load_parameters

DEFAULT_OUTPUT = "params.yaml"
"""DVC's default parameters file, at the project root."""


def kedro_environment() -> str:
    """The environment ``kedro run`` uses: ``KEDRO_ENV``, else the default run environment."""
    return os.environ.get("KEDRO_ENV") or CONFIG_LOADER_ARGS["default_run_env"]


def effective_parameters_text(conf_source: str | Path, env: str) -> str:
    """YAML of the parameters of ``env`` merged over ``base``, with a header naming both."""
    parameters: dict[str, Any] = load_parameters(conf_source, env)
    header = (f"# Written by `python -m rodin_pipelines.dvc_parameters` (the `parameters` stage of\n"
              f"# dvc.yaml): the parameters of Kedro environment '{env}' merged over base. Do not\n"
              f"# edit; change conf/ and run `dvc repro`.\n")
    return header + yaml.safe_dump(parameters, sort_keys=True, allow_unicode=True)


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    output = Path(arguments[0] if arguments else DEFAULT_OUTPUT)
    env = kedro_environment()
    atomic_write_text(output, effective_parameters_text("conf", env))
    print(f"{output}: parameters of Kedro environment '{env}'")


if __name__ == "__main__":
    main()
