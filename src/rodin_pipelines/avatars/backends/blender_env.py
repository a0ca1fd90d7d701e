"""The Blender backend's own Python environment: create it once, find it, or say how to.

The official ``bpy`` wheels (the 4.5 series) need Python 3.11 and pin numpy below 2, which the
main environment (numpy 2, torch) cannot share. Blender therefore runs in worker processes from a
separate virtual environment that holds only ``bpy`` and its numpy; the pipeline talks to them
through files (:mod:`rodin_pipelines.avatars.backends.blender_renderer`).

Create it with one command, from the project root::

    python -m rodin_pipelines.avatars.backends.blender_env            # -> .venv/blender

It lives inside the main environment's folder by default, so ``git``, the tests' project copies
and ``rm -rf .venv`` treat both alike. Creating is idempotent: when the environment is already
there with the pinned ``bpy``, the command returns in well under a second. A new environment is
built under a temporary sibling name and renamed into place when complete, so an interrupted
creation never leaves an environment that looks finished.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rodin_pipelines.atomic_files import atomic_directory, atomic_write_json

BPY_REQUIREMENT = "bpy==4.5.15"
"""The pinned Blender-as-a-module release (its wheels exist for CPython 3.11 only)."""
REQUIRED_PYTHON = (3, 11)
DEFAULT_ENVIRONMENT = Path(".venv") / "blender"
"""Where the environment lives unless told otherwise (relative to the project root)."""
MARKER_FILE = "rodin-blender-env.json"
"""Written last into a finished environment: what was installed, so a rerun can skip."""
CREATE_COMMAND = "python -m rodin_pipelines.avatars.backends.blender_env"
"""The one documented command that creates the environment (named in every error)."""


class BlenderEnvironmentMissing(RuntimeError):
    """The Blender backend was chosen but its environment is absent or incomplete."""


class NotOurFolder(FileExistsError):
    """``--path`` names a folder with content this module did not make (no marker file)."""


def refuse_foreign_folder(environment: Path) -> None:
    """Raise :class:`NotOurFolder` unless ``environment`` is absent, empty or one we made.

    Creating replaces the folder as a whole; only our marker (written last into every
    environment we make) says that what stands there is ours to replace.
    """
    if not environment.exists() and not environment.is_symlink():
        return
    if environment.is_dir() and not environment.is_symlink():
        if (environment / MARKER_FILE).is_file() or not any(environment.iterdir()):
            return
    raise NotOurFolder(f"{environment.resolve()} exists and is not a Blender environment made "
                       f"by this command (no {MARKER_FILE} in it); it is left untouched. Pass "
                       "--path with a new or empty folder, or remove that one yourself")


def python_in(environment: str | Path) -> Path:
    """The interpreter of a virtual environment (POSIX or Windows layout)."""
    environment = Path(environment)
    posix = environment / "bin" / "python"
    return posix if posix.exists() or os.name != "nt" else environment / "Scripts" / "python.exe"


def environment_problem(environment: str | Path) -> str | None:
    """Why ``environment`` cannot run the worker, or ``None`` when it is ready."""
    environment = Path(environment)
    marker = environment / MARKER_FILE
    if not environment.is_dir():
        return f"no Blender environment at {environment.resolve()}"
    if not marker.is_file() or not python_in(environment).exists():
        return f"the Blender environment at {environment.resolve()} is incomplete"
    installed = json.loads(marker.read_text(encoding="utf-8")).get("requirement")
    if installed != BPY_REQUIREMENT:
        return (f"the Blender environment at {environment.resolve()} has {installed}, "
                f"this code needs {BPY_REQUIREMENT}")
    return None


def require_environment(environment: str | Path) -> Path:
    """The interpreter of a ready environment; raises :class:`BlenderEnvironmentMissing` naming
    the command that creates it otherwise."""
    problem = environment_problem(environment)
    if problem is not None:
        where = "" if Path(environment) == DEFAULT_ENVIRONMENT else f" --path {environment}"
        raise BlenderEnvironmentMissing(
            f"{problem}. The Blender render backend runs bpy from its own virtual environment; "
            f"create it (once, ~1 GB, about a minute) with:\n    {CREATE_COMMAND}{where}"
        )
    return python_in(environment)


def find_python_311() -> Path:
    """An interpreter of the Python version the ``bpy`` wheels are built for."""
    if sys.version_info[:2] == REQUIRED_PYTHON:
        # The base interpreter, not this environment's: a venv made from a venv is still based
        # on the real installation, but naming it directly is clearer in the marker.
        return Path(getattr(sys, "_base_executable", sys.executable))
    name = "python{}.{}".format(*REQUIRED_PYTHON)
    found = shutil.which(name)
    if found is None:
        raise BlenderEnvironmentMissing(
            f"bpy ({BPY_REQUIREMENT}) needs Python {name[6:]}, which is not on PATH; "
            f"install it, or run `{name} -m rodin_pipelines.avatars.backends.blender_env`"
        )
    return Path(found)


def create_environment(
    environment: str | Path = DEFAULT_ENVIRONMENT, python: str | Path | None = None,
    force: bool = False,
) -> Path:
    """Create the Blender environment at ``environment`` unless it is already ready.

    Args:
        environment: the folder to create.
        python: a Python 3.11 interpreter to base it on; None finds one.
        force: rebuild even if a ready environment is there.

    Returns:
        The environment's interpreter.

    Raises:
        NotOurFolder: ``environment`` holds something else (never deleted).
    """
    environment = Path(environment)
    if not force and environment_problem(environment) is None:
        return python_in(environment)
    refuse_foreign_folder(environment)
    base = Path(python) if python is not None else find_python_311()
    # Interpreters are symlinks and pip runs as ``python -m pip``, so the environment works
    # after atomic_directory renames it into place (only console-script shebangs keep the
    # staging path); an interrupted creation never looks finished.
    with atomic_directory(environment) as staging:
        # The venv is made by the chosen interpreter, so its version is the one bpy needs.
        subprocess.run([str(base), "-m", "venv", "--clear", str(staging)], check=True)
        staged_python = python_in(staging)
        subprocess.run([str(staged_python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", BPY_REQUIREMENT], check=True)
        version = subprocess.run(
            [str(staged_python), "-c", "import bpy, numpy; print(bpy.app.version_string, "
             "numpy.__version__)"], check=True, capture_output=True, text=True,
        ).stdout.split()
        atomic_write_json(staging / MARKER_FILE, {
            "requirement": BPY_REQUIREMENT, "blender": " ".join(version[:-1]),
            "numpy": version[-1], "base_python": str(base),
        })
    return python_in(environment)


def main(argv: list[str] | None = None) -> int:
    """Command line: create (or confirm) the Blender environment."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, default=DEFAULT_ENVIRONMENT,
                        help=f"where to create it (default {DEFAULT_ENVIRONMENT})")
    parser.add_argument("--python", type=Path, default=None,
                        help="a Python 3.11 interpreter to base it on (default: found on PATH)")
    parser.add_argument("--force", action="store_true", help="rebuild even if it is ready")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    ready = not arguments.force and environment_problem(arguments.path) is None
    try:
        interpreter = create_environment(arguments.path, arguments.python, arguments.force)
    except NotOurFolder as refused:
        parser.error(str(refused))
    verb = "already there" if ready else "created"
    print(f"Blender environment {verb}: {interpreter} ({BPY_REQUIREMENT}, "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
