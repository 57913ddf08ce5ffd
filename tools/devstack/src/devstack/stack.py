"""The servers of the stack in start order, and the operations over all of them."""

from __future__ import annotations

from collections.abc import Sequence

from devstack import envfile
from devstack.errors import StackError
from devstack.kafka import Kafka
from devstack.minio import MinIO
from devstack.postgres import Postgres
from devstack.server import Server
from devstack.settings import Settings

DATA_SERVERS = ("kafka", "minio", "postgres")


def all_servers(settings: Settings) -> dict[str, Server]:
    servers: dict[str, Server] = {
        "kafka": Kafka(settings),
        "minio": MinIO(settings),
        "postgres": Postgres(settings),
    }
    try:
        from devstack.cluster import Cluster  # the Kubernetes control plane, when this checkout has it
    except ImportError:
        return servers
    servers["cluster"] = Cluster(settings)
    from devstack.images import Images  # the project's images, built here for the real node's containerd

    servers["images"] = Images(settings)
    return servers


def select(settings: Settings, names: Sequence[str]) -> list[Server]:
    servers = all_servers(settings)
    unknown = [name for name in names if name not in servers]
    if unknown:
        raise StackError(f"unknown server(s) {', '.join(unknown)}; known: {', '.join(servers)}")
    return [servers[name] for name in (names or DATA_SERVERS)]


def refresh_env_file(settings: Settings) -> None:
    """Export the env of every server that is up, so one file always describes the running stack."""
    values = {"DEVSTACK_HOME": str(settings.home)}
    for server in all_servers(settings).values():
        if server.running():
            values.update(server.env())
    envfile.write(settings.env_file, values)


def up(settings: Settings, names: Sequence[str]) -> list[Server]:
    chosen = select(settings, names)
    for server in chosen:
        server.install()
    for server in chosen:
        server.start()
        refresh_env_file(settings)
    return chosen


def down(settings: Settings, names: Sequence[str]) -> list[str]:
    everything = list(all_servers(settings))
    chosen = select(settings, names or everything)
    stopped = [server.name for server in reversed(chosen) if server.stop()]
    refresh_env_file(settings)
    return stopped


def status(settings: Settings) -> list[tuple[str, str, str]]:
    rows = []
    for server in all_servers(settings).values():
        if not server.running():
            state = "stopped"
        else:
            state = "healthy" if server.healthy() else "UNHEALTHY"
        rows.append((server.name, server.address(), state))
    return rows
