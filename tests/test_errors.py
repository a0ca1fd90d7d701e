"""The project's input errors survive pickling unchanged: DDP ranks broadcast them pickled, so a
rank that cannot rebuild one (or rebuilds it with its message doubled) hides the real problem."""

import inspect
import pickle
from pathlib import Path

import pytest

from rodin_pipelines import errors
from rodin_pipelines.errors import InputDataError, UnsafeCheckpointError

EXAMPLES = [
    InputDataError(Path("data/avatars/a1/transforms.json"), "w is not a number"),
    InputDataError("data/portrait.png", "corrupt or unreadable image", "replace the file"),
    UnsafeCheckpointError(Path("checkpoints/last.ckpt"), "builtins.open"),
    UnsafeCheckpointError("downloaded.ckpt"),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_an_input_error_round_trips_through_pickle(error):
    rebuilt = pickle.loads(pickle.dumps(error))
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    assert (rebuilt.path, rebuilt.problem, rebuilt.fix) == (error.path, error.problem, error.fix)


def test_every_input_error_class_has_a_round_trip_example():
    defined = {cls for _, cls in inspect.getmembers(errors, inspect.isclass)
               if issubclass(cls, InputDataError)}
    assert defined <= {type(error) for error in EXAMPLES}
