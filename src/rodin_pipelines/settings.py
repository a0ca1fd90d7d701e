"""Kedro project settings."""

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
