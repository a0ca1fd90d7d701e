"""Kedro project settings, and the parameters of an environment for code outside a Kedro
session (tests, benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

from rodin_pipelines.configuration import CUSTOM_RESOLVERS, MERGE_STRATEGY
from rodin_pipelines.hooks import HOOKS  # noqa: F401  (Kedro reads HOOKS from this module)

# Our hook wraps kedro-mlflow's, so the plugin's own auto-registered copy is switched off.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "merge_strategy": MERGE_STRATEGY,
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
    "custom_resolvers": CUSTOM_RESOLVERS,
}


def load_parameters(conf_source: str | Path, env: str) -> dict[str, Any]:
    """The parameters of Kedro environment ``env`` merged over ``base``, as ``kedro run --env``
    sees them."""
    loader = OmegaConfigLoader(str(conf_source), base_env="base", default_run_env=env,
                               merge_strategy=MERGE_STRATEGY, custom_resolvers=CUSTOM_RESOLVERS)
    return loader["parameters"]
