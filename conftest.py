"""Every test belongs to exactly one suite (unit, integration, k8s, e2e), so `-m` selections never lose one."""

from __future__ import annotations

import pytest

SUITES = ("unit", "integration", "k8s", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(s) for s in SUITES)]
    if unmarked:
        raise pytest.UsageError(f"tests without a suite marker ({', '.join(SUITES)}): {', '.join(unmarked[:10])}")
