"""bench/operator: 100 StockFeeds applied at once; how long until every one is Ready, and the operator's peak RSS.

Side by side in one run, on the local control plane (`make cluster-up`; kwok makes pods Ready):
  (a) baseline: the same children (100 ConfigMaps, 200 Deployments, built by the operator's own builders)
      created directly by one client: how fast Kubernetes itself gets them Ready;
  (b) the operator: 100 StockFeeds created at once; the operator (a subprocess, `python -m stockfeed_operator`)
      creates topics, ConfigMaps and Deployments and reports Ready=True on each feed.
Prints the time until all ready for both, per-feed latency medians, the ratio (b)/(a), the target (<= 60 s)
and the operator's peak RSS (VmHWM). Bounded: every wait gives up after BUDGET_SECONDS.

    .venv/bin/python -m bench.operator [--feeds 100]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config

from devstack import envfile, strimzi_crds
from devstack.k8s import kwok_config
from devstack.k8s.versions import KUBERNETES_VERSION
from devstack.settings import Settings
from stockfeed_operator.children import desired_children
from stockfeed_operator.config import load_settings
from stockfeed_operator.feed import parse_feed

REPO = Path(__file__).resolve().parents[2]
CRDS = (
    REPO / "operator" / "crds" / "stockfeed.yaml",
    strimzi_crds.crds_dir(Settings.from_env().cache) / "043-Crd-kafkatopic.yaml",  # from `devstack up cluster`
)
FEEDS = ("stockfeed.dev", "v1alpha1", "stockfeeds")
TARGET_SECONDS = 60.0
NODE_PODS = 110  # pods one fake node takes (kwok_config.node_manifest)
BUDGET_SECONDS = 240.0
SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "AMD"]
OPERATOR_ENV = {
    "OPERATOR_PRODUCER_IMAGE": "registry.test/stockfeed-producer:bench",
    "OPERATOR_CONSUMER_IMAGE": "registry.test/stockfeed-consumer:bench",
    "OPERATOR_SIMULATOR_URL": "http://stockfeed-simulator:8080/api/v1",
    "OPERATOR_REQUIRE_TOPIC_READY": "false",  # no Strimzi topic operator in the test cluster
    "OPERATOR_LIVENESS_ENDPOINT": "",
    "OPERATOR_LOG_LEVEL": "WARNING",
}


def feed_spec(index: int) -> dict[str, Any]:
    # one topic per feed: feeds sharing a topic would (rightly) be refused with TopicConflict
    return {"symbols": SYMBOLS[: 1 + index % len(SYMBOLS)], "kafka": {"topic": f"bench-{index:03d}"}}


def feed_manifest(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "stockfeed.dev/v1alpha1",
        "kind": "StockFeed",
        "metadata": {"name": f"feed-{index:03d}"},
        "spec": feed_spec(index),
    }


def list_feeds(custom: client.CustomObjectsApi, namespace: str) -> list[dict[str, Any]]:
    answer = custom.list_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2])
    assert isinstance(answer, dict)
    items: list[dict[str, Any]] = answer["items"]
    return items


def parallel(calls: list[Callable[[], object]], workers: int = 16) -> None:
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BUDGET_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench/operator: gave up after {BUDGET_SECONDS:.0f}s waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def scratch_namespace(core: client.CoreV1Api, prefix: str) -> Iterator[str]:
    """A namespace for one phase, deleted afterwards and waited for, so the next phase starts on an empty node."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        with contextlib.suppress(client.ApiException):
            core.delete_namespace(name)
        wait_until(lambda: not namespace_exists(core, name), f"namespace {name} deleted")


def namespace_exists(core: client.CoreV1Api, name: str) -> bool:
    try:
        core.read_namespace(name)
    except client.ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


@contextlib.contextmanager
def extra_nodes(core: client.CoreV1Api, kubectl: str, kubeconfig: str, count: int) -> Iterator[None]:
    """More fake nodes for the run: kwok adopts them by annotation; one holds 110 pods, a run needs 200."""
    names = [f"kwok-bench-{index}" for index in range(count)]
    for name in names:
        subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "apply", "-f", "-"],
            input=kwok_config.node_manifest(KUBERNETES_VERSION, name=name),
            text=True,
            check=True,
            capture_output=True,
            timeout=60,
        )
    try:
        wait_until(lambda: all(node_ready(core, name) for name in names), "the extra kwok nodes Ready")
        yield
    finally:
        for name in names:
            with contextlib.suppress(client.ApiException):
                core.delete_node(name)


def node_ready(core: client.CoreV1Api, name: str) -> bool:
    node: dict[str, Any] = core.api_client.sanitize_for_serialization(core.read_node(name))
    return bool(kwok_config.node_ready(node))


def baseline(api: client.ApiClient, feeds: int) -> tuple[float, list[float]]:
    """The feeds' ConfigMaps and Deployments created directly: Kubernetes' own time to Ready."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    settings = load_settings(dict(OPERATOR_ENV))
    with scratch_namespace(core, "bench-baseline") as namespace:
        objects: list[dict[str, Any]] = []
        for index in range(feeds):
            body = {
                "metadata": {"name": f"feed-{index:03d}", "namespace": namespace, "uid": str(uuid.uuid4())},
                "spec": feed_spec(index),
            }
            children = desired_children(parse_feed(body), settings)
            for child in children:
                child["metadata"].pop("ownerReferences", None)  # no owner exists in this path
            objects.extend(child for child in children if child["kind"] in ("ConfigMap", "Deployment"))
        started = time.monotonic()
        calls: list[Callable[[], object]] = [
            # the client accepts the API's JSON shape as a body, which the builders produce
            functools.partial(
                core.create_namespaced_config_map if obj["kind"] == "ConfigMap" else apps.create_namespaced_deployment,
                namespace,
                cast(Any, obj),
            )
            for obj in objects
        ]
        parallel(calls)
        ready_at: dict[str, float] = {}
        wanted = {f"feed-{index:03d}" for index in range(feeds)}

        def all_ready() -> bool:
            per_feed: dict[str, int] = {}
            listing: dict[str, Any] = api.sanitize_for_serialization(  # type: ignore[no-untyped-call]
                apps.list_namespaced_deployment(namespace)
            )
            for item in listing["items"]:
                status, wanted_replicas = item.get("status") or {}, item["spec"]["replicas"]
                if status.get("availableReplicas") == status.get("updatedReplicas") == wanted_replicas:
                    feed = item["metadata"]["labels"]["stockfeed.dev/feed"]
                    per_feed[feed] = per_feed.get(feed, 0) + 1
            now = time.monotonic() - started
            for feed, count in per_feed.items():
                if count == 2:
                    ready_at.setdefault(feed, now)
            return wanted <= ready_at.keys()

        wait_until(all_ready, f"{feeds * 2} Deployments available")
        return time.monotonic() - started, sorted(ready_at.values())


@dataclass(frozen=True)
class Run:
    total: float  # seconds until every feed was Ready
    ready: list[float]  # each feed's seconds until Ready, sorted
    children: float  # seconds until all Deployments existed
    peak_kib: int  # the operator's VmHWM
    sampled_kib: int  # highest VmRSS seen while waiting
    idle_kib: int  # VmRSS before any feed existed


def operator_run(api: client.ApiClient, kubeconfig: str, feeds: int) -> Run:
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    with scratch_namespace(core, "bench-operator") as namespace:
        env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("OPERATOR_")},
            **OPERATOR_ENV,
            "KUBECONFIG": kubeconfig,
            "OPERATOR_NAMESPACES": namespace,
        }
        log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-operator-{namespace}.log"
        with log.open("w") as output:
            operator = subprocess.Popen(
                [sys.executable, "-m", "stockfeed_operator"], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        peak_sampled = 0
        try:
            time.sleep(3)  # let kopf list the (empty) namespace and start its watches
            if operator.poll() is not None:
                raise SystemExit(f"bench/operator: the operator exited early; see {log}")
            idle = rss_kib(operator.pid, "VmRSS")
            started = time.monotonic()
            calls: list[Callable[[], object]] = [
                functools.partial(
                    custom.create_namespaced_custom_object, *FEEDS[:2], namespace, FEEDS[2], feed_manifest(index)
                )
                for index in range(feeds)
            ]
            parallel(calls)
            ready_at: dict[str, float] = {}

            apps = client.AppsV1Api(api)
            children_at = 0.0

            def all_ready() -> bool:
                nonlocal peak_sampled, children_at
                peak_sampled = max(peak_sampled, rss_kib(operator.pid, "VmRSS"))
                now = time.monotonic() - started
                if not children_at and len(apps.list_namespaced_deployment(namespace).items) == 2 * feeds:
                    children_at = now  # the operator's own part is done; the rest is Kubernetes rolling out
                for feed in list_feeds(custom, namespace):
                    for item in (feed.get("status") or {}).get("conditions") or ():
                        if item["type"] == "Ready" and item["status"] == "True":
                            ready_at.setdefault(feed["metadata"]["name"], now)
                return len(ready_at) == feeds

            wait_until(all_ready, f"{feeds} StockFeeds Ready")
            elapsed = time.monotonic() - started
            peak = rss_kib(operator.pid, "VmHWM")
            # delete while the operator runs, so kopf removes its finalizer and the namespace can go
            custom.delete_collection_namespaced_custom_object(*FEEDS[:2], namespace, FEEDS[2])
            wait_until(
                lambda: not list_feeds(custom, namespace),
                "the feeds deleted",
            )
        finally:
            operator.terminate()
            try:
                operator.wait(timeout=30)
            except subprocess.TimeoutExpired:
                operator.kill()
                operator.wait()
        return Run(elapsed, sorted(ready_at.values()), children_at, peak, peak_sampled, idle)


def rss_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def install_crds(kubectl: str, kubeconfig: str) -> None:
    for path in CRDS:
        subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", str(path)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    for crd in ("stockfeeds.stockfeed.dev", "kafkatopics.kafka.strimzi.io"):
        subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s"],
            check=True,
            capture_output=True,
            timeout=90,
        )


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.operator", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--operator-only", action="store_true", help="skip the baseline (a), for quick experiments")
    args = parser.parse_args(argv)
    values = envfile.read(Settings.from_env().env_file)
    kubeconfig, kubectl = values.get("KUBECONFIG"), values.get("DEVSTACK_KUBECTL")
    if not kubeconfig or not kubectl:
        print("bench/operator: the control plane is not up: run `make cluster-up`", file=sys.stderr)
        return 2
    install_crds(kubectl, kubeconfig)
    api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    api.configuration.connection_pool_maxsize = 32

    print(f"bench/operator: {args.feeds} feeds (2 Deployments, 1 ConfigMap, 1 KafkaTopic each), kwok pods")
    with extra_nodes(client.CoreV1Api(api), kubectl, kubeconfig, count=1 + (2 * args.feeds) // NODE_PODS):
        base_total, base_ready = (0.0, [0.0]) if args.operator_only else baseline(api, args.feeds)
        run = operator_run(api, kubeconfig, args.feeds)

    print(f"{'path':<34}{'all ready s':>12}{'median s':>10}{'p95 s':>8}")
    if not args.operator_only:
        print(
            f"{'(a) children created directly':<34}{base_total:>12.1f}{statistics.median(base_ready):>10.1f}"
            f"{percentile(base_ready, 0.95):>8.1f}"
        )
    print(
        f"{'(b) StockFeeds via the operator':<34}{run.total:>12.1f}{statistics.median(run.ready):>10.1f}"
        f"{percentile(run.ready, 0.95):>8.1f}"
    )
    print(f"(b) all {2 * args.feeds} Deployments created by the operator after {run.children:.1f} s")
    if base_total:
        print(f"ratio (b)/(a), all ready: {run.total / base_total:.2f}x")
    verdict = "met" if run.total <= TARGET_SECONDS else "MISSED"
    print(f"target: all {args.feeds} Ready within {TARGET_SECONDS:.0f} s -> {run.total:.1f} s ({verdict})")
    print(
        f"operator RSS: peak (VmHWM) {run.peak_kib / 1024:.1f} MiB, highest sampled {run.sampled_kib / 1024:.1f} MiB,"
        f" idle before the feeds {run.idle_kib / 1024:.1f} MiB"
    )
    return 0 if run.total <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
