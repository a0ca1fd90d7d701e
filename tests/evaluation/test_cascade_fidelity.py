"""Conditional fidelity measures: own-avatar rank by MSE."""

from __future__ import annotations

import torch

from rodin_pipelines.evaluation.cascade_fidelity import own_rank_by_mse, top1


def test_own_rank_counts_strictly_nearer_candidates() -> None:
    candidates = torch.tensor([0.0, 1.0, 2.0, 3.0]).reshape(4, 1, 1, 1).expand(4, 2, 1, 3)
    samples = torch.tensor([0.1, 2.9, 1.4]).reshape(3, 1, 1, 1).expand(3, 2, 1, 3)
    # sample 0 near candidate 0 (own 0): rank 0; sample 1 near 3 but own is 1: candidates 3 and
    # 2 are nearer -> rank 2; sample 2 (1.4) own 2: candidate 1 (0.4 away) is nearer -> rank 1.
    ranks = own_rank_by_mse(samples, candidates, torch.tensor([0, 1, 2]))
    assert ranks.tolist() == [0, 2, 1]
    assert abs(top1(ranks) - 1 / 3) < 1e-6
