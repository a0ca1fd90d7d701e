"""A data loader sized in optimisation steps, not epochs.

Small training sets (a few hundred avatars, a few batches per epoch) would spend much of the run
in Lightning's per-epoch machinery; one long epoch of batches drawn with replacement avoids that
and makes ``max_steps`` the only length that matters.
"""

from __future__ import annotations

from torch.utils.data import DataLoader, Dataset, RandomSampler


def step_loader(dataset: Dataset, batch_size: int, steps: int) -> DataLoader:
    """Batches of ``min(batch_size, len(dataset))`` items, drawn with replacement, for ``steps``
    steps in one epoch."""
    size = min(batch_size, len(dataset))  # type: ignore[arg-type]
    sampler = RandomSampler(dataset, replacement=True, num_samples=size * steps)
    return DataLoader(dataset, batch_size=size, sampler=sampler, drop_last=True)
