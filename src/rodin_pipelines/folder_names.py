"""The one rule for names that become folders under ``data/`` (avatar ids, result names).

A name from a user (``--name``, ``generate.name``, an import's ``avatar_id``) is joined to a
folder we own; ``../x`` or ``/abs/path`` would then write outside it. A plain name uses only
letters, digits, ``_``, ``-`` and ``.`` and does not start with ``.`` (which would hide the
folder, look like one of our ``.tmp-*`` writes, or be ``..``).
"""

from __future__ import annotations

import re

UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]+")
"""Characters a plain folder name may not hold (path separators among them)."""


def checked_folder_name(name: str, what: str = "name") -> str:
    """``name`` if it is a plain folder name, else a ``ValueError`` saying which ``what`` and why."""
    if not isinstance(name, str) or not name or UNSAFE_CHARACTERS.search(name) \
            or name.startswith("."):
        raise ValueError(f"{what} {name!r} must be a plain folder name: only letters, digits, "
                         "'_', '-', '.', not starting with '.' (no '/' or '..')")
    return name


def folder_name_from(text: str, default: str = "avatar") -> str:
    """``text`` (e.g. a source folder's name) made into a plain folder name."""
    name = UNSAFE_CHARACTERS.sub("_", text).strip("._-")  # a leading "." would hide it
    return name or default
