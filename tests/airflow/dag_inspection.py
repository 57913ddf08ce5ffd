"""Ask the Airflow environment (its own venv, as in its image) to describe the DAG; return the parsed JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = REPO / ".venv-airflow" / "bin" / "python"
DAGS = REPO / "dags"


def inspect_dags(tmp_path: Path, env: dict[str, str], *, pods: bool = False) -> dict[str, Any]:
    assert AIRFLOW_PYTHON.exists(), "the Airflow environment is missing: run `make bootstrap`"
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")},
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # A busy 2-core CI machine can take longer than the default 30 s to import the provider modules.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
        **env,
    }
    argv = [str(AIRFLOW_PYTHON), str(Path(__file__).with_name("inspect_dag.py")), str(DAGS)]
    result = subprocess.run(
        [*argv, "--pods"] if pods else argv, env=full_env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Airflow logs to stdout too: the JSON is the last line.
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed
