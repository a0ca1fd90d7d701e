"""Which slice of an embarrassingly parallel job this process does.

Processes started by ``torchrun``, SLURM or by hand with ``RANK``/``WORLD_SIZE`` set split a list
of work items round-robin, so each item is done by exactly one process with no coordination.
This is the one place the launchers' environment variables are read.
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


def launched_rank() -> int:
    """This process's rank when started by torchrun (``RANK``) or SLURM (``SLURM_PROCID``)."""
    return int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", 0)))


def launched_world_size() -> int:
    """How many processes torchrun (``WORLD_SIZE``) or SLURM (``SLURM_NTASKS``) started."""
    return int(os.environ.get("WORLD_SIZE", os.environ.get("SLURM_NTASKS", 1)))


def in_torchrun_group() -> bool:
    """Whether torchrun started several processes that can rendezvous (``WORLD_SIZE`` > 1 and
    ``MASTER_ADDR`` set), so ``init_process_group("env://")`` will work."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MASTER_ADDR" in os.environ


def launcher_shard() -> Shard | None:
    """This process's place among several that torchrun (``RANK``) or SLURM (``SLURM_PROCID``)
    started together, every one running the whole program at once; ``None`` for a lone process
    and for processes Lightning starts itself (it sets neither variable, and its first process
    runs ahead of the others)."""
    if "RANK" not in os.environ and "SLURM_PROCID" not in os.environ:
        return None
    shard = shard_from_environment()
    return shard if shard.count > 1 else None


def shard_from_environment(index: int | None = None, count: int | None = None) -> Shard:
    """The shard given explicitly, else from ``RANK``/``WORLD_SIZE`` (torchrun) or SLURM's
    ``SLURM_PROCID``/``SLURM_NTASKS``, else the whole job (shard 0 of 1)."""
    return Shard(launched_rank() if index is None else index,
                 launched_world_size() if count is None else count)
