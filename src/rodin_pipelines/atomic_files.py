"""Atomic writes: a file or folder appears under its final name complete, or not at all.

A run killed midway leaves at most a ``.tmp-*`` sibling behind, which no reader trusts and the
next write of the same target removes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMPORARY_PREFIX = ".tmp-"
"""Name prefix of the temporary siblings that atomic writes use before renaming."""

DEFAULT_FILE_MODE = 0o666
"""Permissions of a new file before the umask, as ``open()`` would create it."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX + path.name, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates files readable by their owner only; give them the usual permissions.
        os.chmod(temporary, DEFAULT_FILE_MODE & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_png(path: str | Path, picture: Any) -> None:
    """Write a uint8 ``(H, W, 3|4)`` array as a PNG to ``path`` atomically."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces ``path`` in one rename.

    On an exception (or a kill) the final folder is untouched and the temporary one is removed
    (or, after a kill, left under a ``.tmp-`` name that readers ignore).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=TEMPORARY_PREFIX + path.name + "-", dir=path.parent))
    os.chmod(temporary, 0o777 & ~_current_umask())
    try:
        yield temporary
        if path.exists():
            shutil.rmtree(path)
        os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete ``.tmp-*`` leftovers of killed writes inside ``folder``; return how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for leftover in folder.glob(TEMPORARY_PREFIX + "*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed
