"""Errors for bad user input: each names the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path


class InputDataError(ValueError):
    """Input data a stage cannot use, with the file it came from and what to do about it."""

    def __init__(self, path: str | Path, problem: str, fix: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.fix = fix
        message = f"{self.path}: {problem}"
        if fix:
            message += f". Fix: {fix}"
        super().__init__(message)
