"""Pipeline-sized tests get their own time budget (tests/conftest.py), the rest keep
pyproject's per-test timeout."""

from __future__ import annotations

import pytest


def timeout_of(item: pytest.Item) -> float | None:
    marker = item.get_closest_marker("timeout")
    return float(marker.args[0]) if marker and marker.args else None


def test_a_pipeline_test_gets_a_longer_budget_and_a_unit_test_keeps_the_default(request):
    default = float(request.config.getini("timeout"))
    items = request.session.items
    pipeline = [i for i in items if i.nodeid.startswith("tests/pipelines/")]
    slow = [i for i in items if i.get_closest_marker("slow") is not None]
    if not pipeline and not slow:
        pytest.skip("run with the whole suite: no pipeline-sized test collected in this session")
    assert all(timeout_of(i) is not None and timeout_of(i) > default for i in pipeline + slow)
    assert timeout_of(request.node) is None  # a unit test: pyproject's timeout applies
