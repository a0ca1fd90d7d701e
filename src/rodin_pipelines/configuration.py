"""How ``conf/`` is read: resolvers available in every file, the merge strategy of environments,
and the parameters of an environment for code outside a Kedro session (tests, benchmarks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def environment_or_default(name: str, default: str = "") -> str:
    """``${env:NAME,default}``: an environment variable, or the default when it is unset."""
    return os.environ.get(name, default)


CUSTOM_RESOLVERS = {"env": environment_or_default}

MERGE_STRATEGY = {"parameters": "soft", "mlflow": "soft"}
"""An environment (test, paper) overrides single keys without wiping their siblings."""


def load_parameters(conf_source: str | Path, env: str) -> dict[str, Any]:
    """The parameters of Kedro environment ``env`` merged over ``base``, as ``kedro run --env``
    sees them."""
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(str(conf_source), base_env="base", default_run_env=env,
                               merge_strategy=MERGE_STRATEGY, custom_resolvers=CUSTOM_RESOLVERS)
    return loader["parameters"]
