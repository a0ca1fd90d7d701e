"""The avatar index table's splits: which avatars train the models, which are held out.

The index (one row per planned avatar, ``avatar_id`` and ``split`` columns among others) is
written by the render stage; every later stage picks its avatars through these helpers.
"""

from __future__ import annotations

from collections.abc import Container

import pandas as pd

TRAIN = "train"
HELDOUT = "heldout"


def split_ids(avatar_index: pd.DataFrame, split: str, available: Container[str]) -> list[str]:
    """Avatar ids of ``split`` in index order, those in ``available`` only."""
    return [i for i in avatar_index.loc[avatar_index["split"] == split, "avatar_id"]
            if i in available]


def heldout_first(avatar_index: pd.DataFrame, available: set[str]) -> list[str]:
    """Available avatar ids, held-out ones first (never in the phase-1 set), then training ones,
    then any not in the index (imported avatars)."""
    split_rank = avatar_index["split"].map({"heldout": 0}).fillna(1)
    ordered = avatar_index.assign(rank=split_rank).sort_values(["rank", "avatar_id"])
    listed = [i for i in ordered["avatar_id"] if i in available]
    return listed + sorted(available - set(listed))
