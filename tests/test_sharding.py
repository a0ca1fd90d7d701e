"""Which slice of a job each process does, and where the launchers' variables are read."""

import pytest

from rodin_pipelines.sharding import (
    Shard,
    in_torchrun_group,
    launched_rank,
    launcher_shard,
    launched_world_size,
    shard_from_environment,
)

LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "MASTER_ADDR")


@pytest.fixture
def clean_environment(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_shards_split_items_round_robin_each_item_exactly_once():
    items = list(range(10))
    shards = [Shard(i, 3).select(items) for i in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(sum(shards, [])) == items


@pytest.mark.parametrize("index, count", [(0, 0), (3, 3), (-1, 2)])
def test_an_impossible_shard_is_an_error(index, count):
    with pytest.raises(ValueError, match="invalid shard"):
        Shard(index, count)


def test_without_a_launcher_a_process_does_the_whole_job(clean_environment):
    assert shard_from_environment() == Shard(0, 1)
    assert (launched_rank(), launched_world_size(), in_torchrun_group()) == (0, 1, False)


def test_torchrun_variables_win_over_slurm_ones(clean_environment):
    clean_environment.setenv("SLURM_PROCID", "5")
    clean_environment.setenv("SLURM_NTASKS", "8")
    assert shard_from_environment() == Shard(5, 8)
    clean_environment.setenv("RANK", "1")
    clean_environment.setenv("WORLD_SIZE", "2")
    assert shard_from_environment() == Shard(1, 2)
    assert not in_torchrun_group()  # no rendezvous address yet
    clean_environment.setenv("MASTER_ADDR", "127.0.0.1")
    assert in_torchrun_group()


def test_an_explicit_shard_overrides_the_environment(clean_environment):
    clean_environment.setenv("RANK", "1")
    clean_environment.setenv("WORLD_SIZE", "2")
    assert shard_from_environment(index=0, count=4) == Shard(0, 4)


def test_only_processes_a_launcher_started_together_have_a_launcher_shard(clean_environment):
    assert launcher_shard() is None  # a lone process
    clean_environment.setenv("WORLD_SIZE", "4")  # Lightning's own ddp launcher sets only this
    assert launcher_shard() is None
    clean_environment.setenv("RANK", "2")  # torchrun
    assert launcher_shard() == Shard(2, 4)
    clean_environment.delenv("RANK")
    clean_environment.delenv("WORLD_SIZE")
    clean_environment.setenv("SLURM_PROCID", "0")
    clean_environment.setenv("SLURM_NTASKS", "1")  # one task: nothing to agree with
    assert launcher_shard() is None
    clean_environment.setenv("SLURM_NTASKS", "8")
    assert launcher_shard() == Shard(0, 8)
