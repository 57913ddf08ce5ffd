"""The chart installs the operator's CRD from its own copy (Helm reads only files inside the chart): the copy must
equal operator/crds/ byte for byte. charts/sync-crds.sh refreshes it."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy.chart import CHART, REPO

pytestmark = pytest.mark.unit

SOURCE = REPO / "operator" / "crds"
COPY = CHART / "crds"


def test_the_operator_has_crds() -> None:
    assert sorted(SOURCE.glob("*.yaml")), f"no CRDs in {SOURCE}"


def test_chart_copies_equal_the_operator_crds_byte_for_byte() -> None:
    sources = {path.name: path.read_bytes() for path in SOURCE.glob("*.yaml")}
    copies = {path.name: path.read_bytes() for path in COPY.glob("*.yaml")}
    assert sorted(copies) == sorted(sources), "run charts/sync-crds.sh"
    for name, content in sources.items():
        assert copies[name] == content, f"charts/stockfeed/crds/{name} is stale: run charts/sync-crds.sh"


def test_sync_script_check_mode_agrees() -> None:
    result = subprocess.run(
        [str(REPO / "charts" / "sync-crds.sh"), "--check"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
