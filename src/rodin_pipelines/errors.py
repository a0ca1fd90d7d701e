"""Errors for bad user input: each names the file, the problem and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


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

    def __reduce__(self) -> tuple[Any, ...]:
        # DDP ranks broadcast exceptions pickled; the default rebuilds ``cls(*args)`` with the
        # finished message as the only argument, which fails or doubles it for our signatures.
        return _rebuilt, (type(self), self.path, self.problem, self.fix), self.__dict__


def _rebuilt(cls: type[InputDataError], path: Path, problem: str,
             fix: str | None) -> InputDataError:
    """An error of ``cls`` from its parts, past a subclass ``__init__`` that takes others."""
    error = cls.__new__(cls)
    InputDataError.__init__(error, path, problem, fix)
    return error


class UnsafeCheckpointError(InputDataError):
    """A checkpoint holding pickled objects beyond tensors and plain data: refused unread.

    torch's own message advises switching ``weights_only`` off, which would run whatever code
    the file carries; this one names the file and says it will not be loaded.
    """

    def __init__(self, path: str | Path, detail: str = "") -> None:
        found = f" ({detail})" if detail else ""
        super().__init__(path, f"holds pickled Python code or objects{found}; loading it could "
                         "run that code, so it will not be loaded",
                         "use a checkpoint written by this project, or export the weights to "
                         "safetensors from a copy you trust")

    @classmethod
    def from_unpickling(cls, path: str | Path, error: BaseException) -> UnsafeCheckpointError:
        """From torch's ``weights_only`` refusal, keeping only what it refused."""
        match = re.search(r"WeightsUnpickler error: ([^\n]*)", str(error))
        detail = match.group(1).split(" was not an allowed")[0] if match else ""
        return cls(path, detail.strip().rstrip("."))
