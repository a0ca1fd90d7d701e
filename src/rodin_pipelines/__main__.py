"""``python -m rodin_pipelines run ...``: the Kedro CLI of this project (same as ``kedro``)."""

from __future__ import annotations

import sys
from pathlib import Path

from kedro.framework.project import configure_project


def main(*args: str) -> None:
    """Run a Kedro CLI command for this project, e.g. ``main("run", "--pipeline", "render")``."""
    from kedro.framework.cli import main as kedro_main

    configure_project(Path(__file__).parent.name)
    sys.argv = ["kedro", *(args or sys.argv[1:])]
    kedro_main()


if __name__ == "__main__":
    main()
