"""dbt in pods on the real node: a pod per step (what the DAG's KubernetesPodOperator does) against a warm dbt
worker pod (services/dbt-worker) serving the same steps, on one warehouse, side by side each round.

    .venv/bin/python -m bench.dbt_pods [--rounds 5] [--symbols 15] [--history-minutes 120]

Needs the local stack's cluster with its real node and images (`devstack up cluster images`). The warehouse (the
simulator's quotes and trades, built once with `full_build`) sits in a host folder that both pods mount, as the
chart's PVC would be. Each round adds one new minute and runs `dbt build --selector minute_job`:
  pod per step   a pod from the dbt image (`dbt build ...`, its target in the pod's own /tmp as in the chart, so
                 every pod parses the project from nothing), timed from the create call to phase Succeeded seen
                 (polled every 0.1 s): what a DAG task waits for, less the operator's own polling;
  worker pod     one long-lived pod from the same image running the worker (its code mounted read-only: the image
                 does not ship it), its socket in the shared folder; the request sent from this host, timed to the
                 exit code.
Then another minute and the freshness alarm (`dbt test --select tag:freshness`) the same two ways. Also printed:
the worker pod's start (create to listening) and dbt's own elapsed time in the per-step pods. Medians over the
rounds. Cleans up its namespace and folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kubernetes import client, config
from stockfeed_dbt_worker.client import run_on_worker, worker_listening

from devstack import envfile

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt"
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
MAKE_FIXTURE = PROJECT / "scripts" / "make_fixture.py"
LABEL = "stockfeed.dev/real-node"
WAREHOUSE_IN_POD = "/wh/stocks_mds.duckdb"
FRESHNESS = ["test", "--select", "tag:freshness", "--vars", json.dumps({"freshness_max_age_seconds": 86400})]
STEPS = {"build minute_job": ["build", "--selector", "minute_job"], "freshness alarm": FRESHNESS}
POD_ENV = {  # the dbt image's own settings, and the warehouse on the shared volume
    "PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "PYTHONUNBUFFERED": "1",
    "DBT_PROFILES_DIR": "/app/dbt",
    "DBT_TARGET_PATH": "/tmp/dbt/target",
    "DBT_LOG_PATH": "/tmp/dbt/logs",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_DUCKDB_PATH": WAREHOUSE_IN_POD,
}
ELAPSED = re.compile(r"Finished running .* in .*\(([\d.]+)s\)")


def fixture(warehouse: Path, origin: int, from_minute: int, minutes: int, symbols: int) -> None:
    command = [sys.executable, str(MAKE_FIXTURE), "--duckdb", str(warehouse), "--symbol-count", str(symbols),
               "--origin", str(origin), "--from-minute", str(from_minute), "--minutes", str(minutes),
               "--trades-per-minute", "20", "--loaded-at", "now", "--seed", "11"]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)


def pod(name: str, image: str, work: Path, command: list[str], args: list[str], worker: bool) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "wh", "mountPath": "/wh"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}},
                                     {"name": "wh", "hostPath": {"path": str(work), "type": "Directory"}}]  # fmt: skip
    env = dict(POD_ENV)
    if worker:
        source = ROOT / "services" / "dbt-worker" / "src"
        volumes.append({"name": "worker", "hostPath": {"path": str(source), "type": "Directory"}})
        mounts.append({"name": "worker", "mountPath": "/worker", "readOnly": True})
        env["PYTHONPATH"] = "/worker"
    container = {
        "name": "main", "image": image, "imagePullPolicy": "Never", "command": command, "args": args,
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "volumeMounts": mounts,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }  # fmt: skip
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 5,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "nodeSelector": {LABEL: "true"},
            "tolerations": [{"key": LABEL, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [container], "volumes": volumes,
        },
    }  # fmt: skip


def pod_per_step(
    core: client.CoreV1Api, ns: str, image: str, work: Path, name: str, args: list[str]
) -> tuple[float, float]:
    """(create to Succeeded, dbt's own elapsed) for one step in a pod of its own."""
    started = time.perf_counter()
    core.create_namespaced_pod(ns, pod(name, image, work, ["dbt"], args, worker=False))  # type: ignore[arg-type]
    while (phase := phase_of(core, ns, name)) not in ("Succeeded", "Failed"):
        if time.perf_counter() - started > 600:
            sys.exit(f"pod {name} did not finish in 600 s")
        time.sleep(0.1)
    took = time.perf_counter() - started
    log = core.read_namespaced_pod_log(name, ns)
    core.delete_namespaced_pod(name, ns, grace_period_seconds=0)
    if phase != "Succeeded":
        sys.exit(f"pod {name} failed:\n{log[-3000:]}")
    found = ELAPSED.search(log)
    return took, float(found.group(1)) if found else float("nan")


def phase_of(core: client.CoreV1Api, ns: str, name: str) -> str:
    status = core.read_namespaced_pod(name, ns).status
    return str(status.phase) if status else "Pending"


def on_worker(socket_path: Path, args: list[str]) -> float:
    lines: list[str] = []
    started = time.perf_counter()
    code = run_on_worker(str(socket_path), args, POD_ENV, "/app/dbt", lines.append)
    took = time.perf_counter() - started
    if code != 0:
        sys.exit(f"worker pod: dbt {' '.join(args)} exited {code}:\n" + "\n".join(lines[-40:]))
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--symbols", type=int, default=15)
    parser.add_argument("--history-minutes", type=int, default=120)
    args = parser.parse_args()
    stack = envfile.read(ROOT / ".devstack" / "env")
    if not stack.get("DEVSTACK_REAL_NODE") or not stack.get("KUBECONFIG"):
        sys.exit("bench.dbt_pods: needs the cluster with its real node: `devstack up cluster images`")
    image = next(ref for ref in stack.get("DEVSTACK_IMAGES", "").split() if "/stockfeed-dbt:" in ref)
    core = client.CoreV1Api(config.new_client_from_config(config_file=stack["KUBECONFIG"]))  # type: ignore[no-untyped-call]
    ns = f"bench-dbt-pods-{uuid.uuid4().hex[:6]}"
    work = Path(tempfile.mkdtemp(prefix="bench-dbt-pods-"))
    warehouse = work / "stocks_mds.duckdb"
    load_before = os.getloadavg()[0]
    core.create_namespace({"metadata": {"name": ns}})  # type: ignore[arg-type]
    try:
        # ServiceAccount admission refuses pods until the controller-manager made the namespace's `default`
        deadline = time.monotonic() + 30
        while not core.list_namespaced_service_account(ns, field_selector="metadata.name=default").items:
            if time.monotonic() > deadline:
                sys.exit(f"namespace {ns} got no default ServiceAccount in 30 s")
            time.sleep(0.2)
        origin = (int(time.time()) // 60 - args.history_minutes - 2 * args.rounds) * 60
        fixture(warehouse, origin, 0, args.history_minutes, args.symbols)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")} | {"DBT_DUCKDB_PATH": str(warehouse)}
        host_flags = ["--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                      "--target-path", str(work / "host-target"), "--log-path", str(work / "host-logs")]  # fmt: skip
        build = [str(DBT), "build", "--selector", "full_build", *host_flags]
        subprocess.run(build, env=env, capture_output=True, timeout=900, check=True)
        work.chmod(0o777)  # the pods run as 10001: the warehouse, its WAL and the worker's socket are theirs too
        warehouse.chmod(0o666)

        started = time.perf_counter()
        socket_path = work / "dbt.sock"
        worker_args = ["-m", "stockfeed_dbt_worker", "--socket", "/wh/dbt.sock"]
        worker_pod = pod("dbt-worker", image, work, ["python"], worker_args, worker=True)
        core.create_namespaced_pod(ns, worker_pod)  # type: ignore[arg-type]
        while not worker_listening(str(socket_path)):
            if time.perf_counter() - started > 300:
                sys.exit(
                    "the worker pod did not listen within 300 s:\n" + core.read_namespaced_pod_log("dbt-worker", ns)
                )
            time.sleep(0.1)
        worker_start = time.perf_counter() - started
        first = on_worker(socket_path, FRESHNESS)  # the first command pays the parse; not counted below

        timings: dict[tuple[str, str], list[float]] = {(step, side): [] for step in STEPS for side in ("pod", "worker")}
        dbt_elapsed: dict[str, list[float]] = {step: [] for step in STEPS}
        minute = args.history_minutes
        for round_number in range(args.rounds):
            for step, step_args in STEPS.items():
                for side in ("pod", "worker") if round_number % 2 == 0 else ("worker", "pod"):
                    if step.startswith("build"):  # each build gets a minute of new data
                        fixture(warehouse, origin, minute, 1, args.symbols)
                        minute += 1
                    if side == "pod":
                        name = f"step-{round_number}-{side}-{step.split()[0]}"
                        took, elapsed = pod_per_step(core, ns, image, work, name, step_args)
                        dbt_elapsed[step].append(elapsed)
                    else:
                        took = on_worker(socket_path, step_args)
                    timings[(step, side)].append(took)
    finally:
        core.delete_namespace(ns, grace_period_seconds=0)
        shutil.rmtree(work, ignore_errors=True)

    print(f"real node {stack['DEVSTACK_REAL_NODE']}, image {image}; {args.symbols} symbols, {args.history_minutes} "
          f"minutes of history, a new minute before each build; {args.rounds} rounds, order alternating")  # fmt: skip
    print(f"worker pod: create to listening {worker_start:.2f} s; its first command (with the parse) {first:.2f} s")
    print(f"{'step':20}{'pod per step p50':>18}{'worker pod p50':>16}{'pod max':>9}{'worker max':>12}{'ratio':>8}"
          f"{'dbt in pod p50':>16}")  # fmt: skip
    for step in STEPS:
        per_pod, warm = timings[(step, "pod")], timings[(step, "worker")]
        p, w = statistics.median(per_pod), statistics.median(warm)
        print(f"{step:20}{p:>17.2f}s{w:>15.2f}s{max(per_pod):>8.2f}s{max(warm):>11.2f}s{p / w:>7.2f}x"
              f"{statistics.median(dbt_elapsed[step]):>15.2f}s")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
