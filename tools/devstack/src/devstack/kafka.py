"""Apache Kafka, single-node KRaft (broker + controller in one JVM), jars from Maven Central."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from devstack import health, procs
from devstack.errors import StackError
from devstack.server import Server, require_tool
from devstack.settings import KAFKA_VERSION, LOG4J_VERSION, Settings


def fetch_pom(kafka_version: str, log4j_version: str) -> str:
    """A throwaway POM whose runtime dependencies are the broker and a log4j binding for its slf4j 1.7 API."""
    deps = [
        ("org.apache.kafka", "kafka_2.13", kafka_version),
        ("org.apache.logging.log4j", "log4j-slf4j-impl", log4j_version),
        ("org.apache.logging.log4j", "log4j-core", log4j_version),
    ]
    xml = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>stockfeed.devstack</groupId><artifactId>kafka-runtime</artifactId><version>1</version>"
        f"<dependencies>{xml}</dependencies></project>\n"
    )


def server_properties(*, port: int, controller_port: int, pod_port: int, node_ip: str, log_dir: Path) -> str:
    """Combined-mode KRaft config with static voters; internal topics sized for one broker.

    Two client listeners, both on loopback: PLAINTEXT for the host, PODS for the real node's pods. PODS advertises
    the node address, where the node's forwarder copies to it, so a pod's client reconnects to an address it can
    reach (a pod's 127.0.0.1 is the pod itself).
    """
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": (
            f"PLAINTEXT://127.0.0.1:{port},PODS://127.0.0.1:{pod_port},CONTROLLER://127.0.0.1:{controller_port}"
        ),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},PODS://{node_ip}:{pod_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PODS:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "log.retention.hours": "24",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


LOG4J2_PROPERTIES = """\
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class Kafka(Server):
    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.home = settings.cache / "kafka" / KAFKA_VERSION
        self.lib = self.home / "lib"
        self.config_dir = settings.data("kafka")
        self.config = self.config_dir / "server.properties"

    def install(self) -> None:
        if (self.home / ".complete").exists():
            return
        mvn = require_tool("mvn", "install Maven: apt-get install maven, or run `make bootstrap`")
        require_tool("java", "install a JDK 17+: apt-get install openjdk-17-jre-headless")
        self.home.mkdir(parents=True, exist_ok=True)
        pom = self.home / "pom.xml"
        pom.write_text(fetch_pom(KAFKA_VERSION, LOG4J_VERSION))
        result = subprocess.run(
            [
                mvn, "-q", "-B", "-f", str(pom),
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
                f"-DoutputDirectory={self.lib}", "-DincludeScope=runtime",
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"kafka: fetching jars with Maven failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        (self.home / ".complete").write_text(KAFKA_VERSION)

    def _java(self) -> str:
        return require_tool("java", "install a JDK 17+: apt-get install openjdk-17-jre-headless")

    def _format_storage(self, java: str, log_dir: Path) -> None:
        if (log_dir / "meta.properties").exists():
            return
        cluster_id_file = self.config_dir / "cluster-id"
        if not cluster_id_file.exists():
            # Kafka cluster ids are 16 random bytes, base64url without padding (what `random-uuid` prints).
            cluster_id_file.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
        cluster_id = cluster_id_file.read_text().strip()
        result = subprocess.run(
            [
                java, "-cp", f"{self.lib}/*", "kafka.tools.StorageTool", "format",
                f"--cluster-id={cluster_id}", f"--config={self.config}", "--ignore-formatted",
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackError(f"kafka: formatting storage failed:\n{result.stdout}{result.stderr}")

    def start(self) -> None:
        if self.running():
            return
        s = self.settings
        procs.require_free_ports(
            "kafka",
            {
                "DEVSTACK_KAFKA_PORT": s.kafka_port,
                "DEVSTACK_KAFKA_CONTROLLER_PORT": s.kafka_controller_port,
                "DEVSTACK_KAFKA_POD_PORT": s.kafka_pod_port,
            },
        )
        java = self._java()
        log_dir = self.config_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            server_properties(
                port=s.kafka_port,
                controller_port=s.kafka_controller_port,
                pod_port=s.kafka_pod_port,
                node_ip=s.node_ip,
                log_dir=log_dir,
            )
        )
        log4j = self.config_dir / "log4j2.properties"
        log4j.write_text(LOG4J2_PROPERTIES)
        self._format_storage(java, log_dir)
        procs.start_daemon(
            [
                java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC",
                "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}",
                "-cp", f"{self.lib}/*", "kafka.Kafka", str(self.config),
            ],
            pid_file=self.pid_file,
            log_file=self.log_file,
        )  # fmt: skip
        health.wait_until(self.healthy, what="kafka", timeout=90, log_file=self.log_file, still_running=self.running)

    def stop(self) -> bool:
        return procs.stop(self.pid_file, str(self.config), timeout=30)

    def kill(self) -> bool:
        return procs.kill_now(self.pid_file, str(self.config))

    def running(self) -> bool:
        return procs.owned_pid(self.pid_file, str(self.config)) is not None

    def healthy(self) -> bool:
        return health.kafka_api_versions(self.settings.kafka_port)

    def address(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    def env(self) -> dict[str, str]:
        return {
            "DEVSTACK_KAFKA_BOOTSTRAP": self.address(),
            # from the real node's pods: the Service the node makes in namespace devstack (node.host_services)
            "DEVSTACK_KAFKA_POD_BOOTSTRAP": "kafka.devstack.svc.cluster.local:9092",
        }
