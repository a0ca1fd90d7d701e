"""How ``conf/`` is read: resolvers available in every file, the merge strategy of environments,
and how one parameter block is merged over another. Kedro-free; the loader that uses them is in
:mod:`rodin_pipelines.settings`."""

from __future__ import annotations

import copy
import os
from typing import Any


def environment_or_default(name: str, default: str = "") -> str:
    """``${env:NAME,default}``: an environment variable, or the default when it is unset."""
    return os.environ.get(name, default)


CUSTOM_RESOLVERS = {"env": environment_or_default}

MERGE_STRATEGY = {"parameters": "soft", "mlflow": "soft"}
"""An environment (test, paper) overrides single keys without wiping their siblings."""


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied key by key (nested dicts merge, other values replace)."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
