"""Atomic writes: a file or folder appears under its final name complete, or not at all.

A run killed midway leaves at most a ``.tmp-*`` sibling behind, which no reader trusts. Each
temporary name says who made it (``.tmp-<name>~<host>~<pid>~<random>``), so cleaning removes
only leftovers of processes that are gone, never a concurrent writer's folder in progress (e.g.
another shard of a sharded render writing into the same root).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TEMPORARY_PREFIX = ".tmp-"
"""Name prefix of the temporary siblings that atomic writes use before renaming."""

DEFAULT_FILE_MODE = 0o666
"""Permissions of a new file before the umask, as ``open()`` would create it."""

OWNER_SEPARATOR = "~"
"""Separates target name, host, pid and random part in a temporary name."""

ASIDE_TAG = "aside."
"""Starts the random part of an old folder renamed aside during a swap (``mkdtemp``'s random
characters never include ``.``, so no staging folder looks like one)."""

FOREIGN_STALE_SECONDS = 24 * 3600
"""A temporary of another host counts as stale (its writer killed) after this long untouched:
its process cannot be asked whether it still runs."""


def _host() -> str:
    return socket.gethostname().replace(OWNER_SEPARATOR, "_").replace("/", "_") or "host"


def temporary_prefix(name: str) -> str:
    """The start of a temporary sibling's name for target ``name``, made by this process; a
    random part follows (from ``mkstemp``/``mkdtemp`` or :func:`temporary_name`)."""
    return f"{TEMPORARY_PREFIX}{name}{OWNER_SEPARATOR}{_host()}{OWNER_SEPARATOR}{os.getpid()}" \
        f"{OWNER_SEPARATOR}"


def temporary_name(name: str) -> str:
    """A temporary sibling name for ``name`` unique to this process and call."""
    return temporary_prefix(name) + secrets.token_hex(6)


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, alive
        return True
    return True


def is_stale_temporary(path: Path) -> bool:
    """Whether the ``.tmp-*`` entry ``path`` was left by a writer that no longer runs."""
    fields = path.name[len(TEMPORARY_PREFIX):].rsplit(OWNER_SEPARATOR, 3)
    if len(fields) != 4 or not fields[2].isdigit():
        return True  # an older, unowned name: nothing can be writing it any more
    _, host, pid, _ = fields
    if host == _host():
        return int(pid) != os.getpid() and not _process_is_running(int(pid))
    with contextlib.suppress(FileNotFoundError):
        return time.time() - path.lstat().st_mtime > FOREIGN_STALE_SECONDS
    return False


def _owned_fields(path: Path) -> list[str] | None:
    """The target name, owner fields and tag of an owned temporary's name, or ``None``."""
    fields = path.name[len(TEMPORARY_PREFIX):].rsplit(OWNER_SEPARATOR, 3)
    return fields if len(fields) == 4 else None


def _temporary_target(path: Path) -> Path | None:
    """The final path an owned temporary ``path`` is written for, or ``None`` if unowned."""
    fields = _owned_fields(path)
    return path.with_name(fields[0]) if fields else None


def _set_aside_target(path: Path) -> Path | None:
    """The final path an aside temporary ``path`` came from, or ``None`` if it is no aside."""
    fields = _owned_fields(path)
    return path.with_name(fields[0]) if fields and fields[3].startswith(ASIDE_TAG) else None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(path.name), dir=path.parent)
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


def replace_durably(temporary: str | Path, path: str | Path) -> None:
    """Rename the finished file ``temporary`` to ``path`` after flushing it to disk: without
    the ``fsync`` a power loss just after the rename can leave ``path`` empty or truncated."""
    handle = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
    os.replace(temporary, path)


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


_RENAME_EXCHANGE = 2
"""``renameat2`` flag (Linux): swap two paths in one step."""


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically; ``False`` where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_cwd = -100
    if renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first))


def _replace_folder(staged: Path, path: Path) -> None:
    """Put the folder ``staged`` at ``path``, where an older folder may stand.

    Never a moment with neither: the two are exchanged in one step where the system can; else
    the old folder is renamed aside first (a kill then leaves it under a ``.tmp-...~aside.*``
    name that the next :func:`atomic_directory` of ``path`` or :func:`remove_stale_temporaries`
    puts back), then the new one renamed in, then the old one deleted.
    """
    if not path.exists():
        os.replace(staged, path)
        return
    if _exchange(staged, path):
        shutil.rmtree(staged, ignore_errors=True)  # holds the old folder now
        return
    aside = path.with_name(temporary_prefix(path.name) + ASIDE_TAG + secrets.token_hex(6))
    os.replace(path, aside)
    try:
        os.replace(staged, path)
    except BaseException:
        os.replace(aside, path)
        raise
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces ``path`` (see
    :func:`_replace_folder`: at every moment the old or the new folder is there).

    On an exception (or a kill) the final folder is untouched and the temporary one is removed
    (or, after a kill, left under a ``.tmp-`` name that readers ignore). Before staging, the
    leftovers of killed writes of ``path`` are settled: an old folder a swap left aside is
    restored (or deleted, if the swap got as far as renaming the new one in), staging folders
    are deleted.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A swap killed midway left the old folder aside; put it back here, as most callers (the
    # decoder, a generated result, a report) never run remove_stale_temporaries on the parent.
    _settle_stale_temporaries(path)
    temporary = Path(tempfile.mkdtemp(prefix=temporary_prefix(path.name), dir=path.parent))
    os.chmod(temporary, 0o777 & ~_current_umask())
    try:
        yield temporary
        _replace_folder(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete the ``.tmp-*`` leftovers of killed writes inside ``folder``; return how many.

    Temporaries of writers still running (this process's, another shard's) are kept. An old
    folder a killed swap left aside goes back to its name when nothing took that name since.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for leftover in folder.glob(TEMPORARY_PREFIX + "*"):
        if is_stale_temporary(leftover) and not _restored(leftover):
            _remove(leftover)
            removed += 1
    return removed


def _restored(leftover: Path) -> bool:
    """Rename an aside ``leftover`` back to its target if nothing took that name since."""
    target = _set_aside_target(leftover)
    if target is None or target.exists():
        return False
    os.replace(leftover, target)
    logger.warning("Restored %s, set aside by a write that was killed", target)
    return True


def _remove(leftover: Path) -> None:
    if leftover.is_dir():
        shutil.rmtree(leftover, ignore_errors=True)
    else:
        leftover.unlink(missing_ok=True)


def _settle_stale_temporaries(path: Path) -> None:
    """Clean up after killed writes of ``path`` alone: restore an old folder a swap left aside
    (or delete it, where the new folder got in), delete staging folders."""
    start = f"{TEMPORARY_PREFIX}{path.name}{OWNER_SEPARATOR}"
    with os.scandir(path.parent) as entries:  # one listing; no glob, the name may hold ``[``
        candidates = [Path(entry.path) for entry in entries if entry.name.startswith(start)]
    for leftover in candidates:
        if _temporary_target(leftover) == path and is_stale_temporary(leftover) \
                and not _restored(leftover):
            _remove(leftover)
