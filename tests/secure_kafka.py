"""A Kafka broker of a test's own, secured as the production chart's Strimzi Kafka is: TLS everywhere, SCRAM-SHA-512
for clients, mTLS as the alternative, ACLs with nothing allowed by default.

- `CertificateAuthority` makes a CA and signs server/client certificates (PEM files, `cryptography`).
- `SecureBroker` runs Kafka 4.1.1 (KRaft, broker + controller in one JVM) from the devstack's cached jars on free
  127.0.0.1 ports, with the listeners
    CLIENT      SASL_SSL, SCRAM-SHA-512 (users are made by `add_user`; `admin` is a super user)
    MTLS        SSL with client certificates required; CN=<name> is the principal User:<name>
    REPLICATION SSL with client certificates required (inter-broker; the broker's own CN=broker is a super user)
    CONTROLLER  SSL with client certificates required
  and the StandardAuthorizer with `allow.everyone.if.no.acl.found=false`.
- `strimzi_acl_bindings` turns Strimzi KafkaUser ACL rules into confluent-kafka AclBindings, so a test can grant
  exactly what the operator would.

Only the broker process started here is ever stopped (by its pid), and its directory is removed afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import re
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KAFKA_VERSION = "4.1.1"
ADMIN_USER = "admin"
BROKER_CN = "broker"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


class BrokerError(RuntimeError):
    """The broker could not be started; the message holds the end of its log."""


# -- certificates --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path


class CertificateAuthority:
    """A self-signed CA in `directory`; `issue` signs certificates with it (RSA 2048, valid for a day)."""

    def __init__(self, directory: Path, name: str = "stockfeed test CA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                    key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )  # fmt: skip
        self.cert_file = directory / "ca.crt"
        self.cert_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, *, ip_addresses: Sequence[str] = (), dns_names: Sequence[str] = ()) -> Pem:
        """A certificate for `common_name` usable as a TLS server and client; key and cert as PEM files."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        names += [x509.DNSName(name) for name in dns_names]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        pem = Pem(self.directory / f"{common_name}.crt", self.directory / f"{common_name}.key")
        pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        # unencrypted PKCS#8: what Kafka's PEM key store reads without ssl.key.password, and librdkafka too
        pkcs8 = serialization.PrivateFormat.PKCS8
        pem.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
        pem.key.chmod(0o600)
        return pem


# -- the broker ----------------------------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1 (held open together, so no two are the same)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def broker_properties(*, ports: Mapping[str, int], keystore: Path, truststore: Path, log_dir: Path) -> dict[str, str]:
    """server.properties of the secured single-node broker; `ports` per listener name."""
    listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())
    advertised = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items() if name != "CONTROLLER")
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required"
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{ports['CONTROLLER']}",
        "listeners": listeners,
        "advertised.listeners": advertised,
        "listener.security.protocol.map": "CLIENT:SASL_SSL,MTLS:SSL,REPLICATION:SSL,CONTROLLER:SSL",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "REPLICATION",
        # TLS: PEM stores; the broker's certificate serves every listener and is its client certificate too
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(truststore),
        "ssl.endpoint.identification.algorithm": "https",
        "listener.name.mtls.ssl.client.auth": "required",
        "listener.name.replication.ssl.client.auth": "required",
        "listener.name.controller.ssl.client.auth": "required",
        # a certificate's CN is the user name (as Strimzi's tls users: CN=<KafkaUser name>)
        "ssl.principal.mapping.rules": "RULE:^CN=([^,]+).*$/$1/,DEFAULT",
        # SCRAM on the client listener; the credentials live in the cluster metadata
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.client.scram-sha-512.sasl.jaas.config": f"{scram};",
        # ACLs: nothing is allowed unless granted; the admin user and the broker itself may do anything
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN_USER};User:{BROKER_CN}",
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "2",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }


LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def kafka_lib(cache: Path) -> Path:
    """The devstack's Kafka jars (`make devstack-up` fetches them with Maven), or BrokerError saying so."""
    home = cache / "kafka" / KAFKA_VERSION
    if not (home / ".complete").exists():
        raise BrokerError(
            f"Kafka {KAFKA_VERSION}'s jars are not in {home / 'lib'}: run `make devstack-up` (it fetches them once)"
        )
    return home / "lib"


class SecureBroker:
    """One secured broker in `directory` (which it removes on stop). Use as a context manager."""

    def __init__(self, directory: Path, lib: Path, java: str = "java") -> None:
        self.directory = directory
        self.lib = lib
        self.java = shutil.which(java) or java
        self.ca = CertificateAuthority(directory / "tls")
        self.admin_password = secrets.token_urlsafe(16)
        ports = free_ports(4)
        self.ports = dict(zip(("CLIENT", "MTLS", "REPLICATION", "CONTROLLER"), ports, strict=True))
        self.log_file = directory / "broker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._admin: Any = None

    @property
    def sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['CLIENT']}"

    @property
    def mtls_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['MTLS']}"

    # -- life cycle --

    def __enter__(self) -> SecureBroker:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        broker = self.ca.issue(BROKER_CN, ip_addresses=["127.0.0.1"], dns_names=["localhost"])
        keystore = self.directory / "tls" / "broker-keystore.pem"
        keystore.write_bytes(broker.key.read_bytes() + broker.cert.read_bytes())
        keystore.chmod(0o600)
        log_dir = self.directory / "data"
        log_dir.mkdir(parents=True)
        properties = broker_properties(
            ports=self.ports, keystore=keystore, truststore=self.ca.cert_file, log_dir=log_dir
        )
        config = self.directory / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        log4j = self.directory / "log4j2.properties"
        log4j.write_text(LOG4J2)
        self._format(config)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.java, "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}",
                    "-cp", f"{self.lib}/*", "kafka.Kafka", str(config),
                ],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self._wait_ready()

    def _format(self, config: Path) -> None:
        """Format the KRaft log with the admin's SCRAM credential (the broker needs no other user to start)."""
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [
                self.java, "-cp", f"{self.lib}/*", "kafka.tools.StorageTool", "format",
                f"--cluster-id={cluster_id}", f"--config={config}",
                "--add-scram", f"SCRAM-SHA-512=[name={ADMIN_USER},password={self.admin_password}]",
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise BrokerError(f"formatting the KRaft log failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def _wait_ready(self) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self.admin_config())
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BrokerError(f"the secured broker exited during start:\n{self.log_tail()}")
            with contextlib.suppress(Exception):
                if admin.list_topics(timeout=2).brokers:
                    return
            time.sleep(0.5)
        raise BrokerError(f"the secured broker was not ready after {START_TIMEOUT_SECONDS:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the broker this object started (only its pid), then remove its directory."""
        process, self.process = self.process, None
        self._admin = None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    # -- clients and administration --

    def sasl_config(self, user: str, password: str) -> dict[str, Any]:
        """librdkafka properties of a SCRAM-SHA-512 client on the CLIENT listener."""
        return {
            "bootstrap.servers": self.sasl_bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": password,
            "ssl.ca.location": str(self.ca.cert_file),
        }

    def admin_config(self) -> dict[str, Any]:
        return {**self.sasl_config(ADMIN_USER, self.admin_password), "log_level": 0}

    def admin(self) -> Any:
        """One AdminClient as the super user (kept: a dropped client cancels its pending futures)."""
        from confluent_kafka.admin import AdminClient

        if self._admin is None:
            self._admin = AdminClient(self.admin_config())
        return self._admin

    def add_user(self, name: str, password: str) -> None:
        """A SCRAM-SHA-512 credential for `name` (as Strimzi's User Operator makes one per KafkaUser)."""
        from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

        upsert = UserScramCredentialUpsertion(
            name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password.encode()
        )
        for future in self.admin().alter_user_scram_credentials([upsert]).values():
            future.result(timeout=30)

    def create_topic(self, name: str, partitions: int = 3) -> None:
        from confluent_kafka.admin import NewTopic

        for future in self.admin().create_topics([NewTopic(name, partitions, 1)]).values():
            future.result(timeout=30)

    def grant(self, user: str, rules: Sequence[Mapping[str, Any]]) -> None:
        """Create the ACLs of Strimzi KafkaUser `rules` for User:<user>, and wait until the broker applies them."""
        from confluent_kafka.admin import (
            AclBindingFilter,
            AclOperation,
            AclPermissionType,
            ResourcePatternType,
            ResourceType,
        )  # fmt: skip

        principal = f"User:{user}"
        bindings = strimzi_acl_bindings(principal, rules)
        for future in self.admin().create_acls(bindings).values():
            future.result(timeout=30)
        # the authorizer learns them from the metadata log; the broker's own answer shows when it has
        mine = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY,
                                AclPermissionType.ANY)  # fmt: skip
        deadline = time.monotonic() + 30
        while len(self.admin().describe_acls(mine).result(timeout=30)) < len(bindings):
            if time.monotonic() > deadline:
                raise BrokerError(f"the ACLs of {principal} were not in effect after 30 s")
            time.sleep(0.1)

    def committed(self, group: str, topic: str, partitions: int = 3) -> dict[int, int]:
        """The group's committed offsets of `topic` (seen by the admin; -1001 where nothing is committed)."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])
        result = self.admin().list_consumer_group_offsets([request])[group].result(timeout=30)
        return {tp.partition: tp.offset for tp in result.topic_partitions}

    def end_offsets(self, topic: str, partitions: int = 3) -> dict[int, int]:
        from confluent_kafka import Consumer, TopicPartition

        probe = Consumer({**self.admin_config(), "group.id": f"probe-{uuid.uuid4().hex[:8]}"})
        try:
            return {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
        finally:
            probe.close()


# -- Strimzi ACL rules -> confluent-kafka ----------------------------------------------------------------------------


def _upper_snake(camel: str) -> str:
    """Strimzi's `DescribeConfigs` -> confluent-kafka's `DESCRIBE_CONFIGS`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def strimzi_acl_bindings(principal: str, rules: Sequence[Mapping[str, Any]]) -> list[Any]:
    """AclBindings for Strimzi KafkaUser `spec.authorization.acls` rules (`type` allow/deny, default allow;
    resource types topic, group, cluster, transactionalId; pattern types literal/prefix)."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    resource_types = {
        "topic": ResourceType.TOPIC, "group": ResourceType.GROUP, "cluster": ResourceType.BROKER,
        "transactionalId": ResourceType.TRANSACTIONAL_ID,
    }  # fmt: skip
    patterns = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}
    bindings = []
    for rule in rules:
        resource = rule["resource"]
        kind = resource_types[resource["type"]]
        name = "kafka-cluster" if kind is ResourceType.BROKER else resource["name"]
        pattern = patterns[resource.get("patternType", "literal")]
        permission = AclPermissionType.DENY if rule.get("type") == "deny" else AclPermissionType.ALLOW
        operations = rule.get("operations") or [rule["operation"]]
        for operation in operations:
            bindings.append(
                AclBinding(kind, name, pattern, principal, rule.get("host", "*"), AclOperation[_upper_snake(operation)],
                           permission)
            )  # fmt: skip
    return bindings
