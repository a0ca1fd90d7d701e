"""Which slice of an embarrassingly parallel job this process does.

Processes started by ``torchrun``, SLURM or by hand with ``RANK``/``WORLD_SIZE`` set split a list
of work items round-robin, so each item is done by exactly one process with no coordination.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class Shard:
    """This process's position among ``count`` processes (``index`` in ``[0, count)``)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"invalid shard {self.index} of {self.count}")

    def select(self, items: Sequence[Item]) -> list[Item]:
        """The items this shard owns: every ``count``-th item starting at ``index``."""
        return list(items[self.index :: self.count])


def shard_from_environment(index: int | None = None, count: int | None = None) -> Shard:
    """The shard given explicitly, else from ``RANK``/``WORLD_SIZE`` (torchrun) or SLURM's
    ``SLURM_PROCID``/``SLURM_NTASKS``, else the whole job (shard 0 of 1)."""
    if index is None:
        index = int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", 0)))
    if count is None:
        count = int(os.environ.get("WORLD_SIZE", os.environ.get("SLURM_NTASKS", 1)))
    return Shard(index, count)
