"""Resolvers available in every ``conf/`` file."""

from __future__ import annotations

import os


def environment_or_default(name: str, default: str = "") -> str:
    """``${env:NAME,default}``: an environment variable, or the default when it is unset."""
    return os.environ.get(name, default)


CUSTOM_RESOLVERS = {"env": environment_or_default}
