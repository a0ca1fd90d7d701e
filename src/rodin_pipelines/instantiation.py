"""The one place objects are built from ``_target_`` blocks of the Kedro parameters (Hydra)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate

TARGET_KEY = "_target_"


def build_from_config(block: Mapping[str, Any], **overrides: Any) -> Any:
    """Instantiate the object a ``_target_`` block describes (nested blocks too).

    ``overrides`` replace keys of the block, for values only known at run time.
    """
    if TARGET_KEY not in block:
        raise ValueError(
            f"config block has no '{TARGET_KEY}': {dict(block)!r}; name the class to build"
        )
    try:
        return instantiate(dict(block), **overrides, _convert_="all")
    except InstantiationException as error:
        raise ValueError(f"cannot build {block[TARGET_KEY]}: {error}") from error


def target_class(block: Mapping[str, Any]) -> type:
    """The class a ``_target_`` block would build, without building it (to ask it questions)."""
    if TARGET_KEY not in block:
        raise ValueError(
            f"config block has no '{TARGET_KEY}': {dict(block)!r}; name the class to build"
        )
    return get_class(block[TARGET_KEY])


def target_blocks(config: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every ``_target_`` block inside a nested config, with its dotted path (outermost only)."""
    if isinstance(config, Mapping):
        if TARGET_KEY in config:
            yield path, config
            return
        for key, value in config.items():
            yield from target_blocks(value, f"{path}.{key}" if path else str(key))
    elif isinstance(config, list):
        for index, value in enumerate(config):
            yield from target_blocks(value, f"{path}[{index}]")
