"""The Kafka identities of a feed's producer and consumer (pure): their ACLs, their KafkaUser spec, and what a pod
needs to use one (security variables, the password as a secretKeyRef, the CA and client certificate as files).

Strimzi's user operator turns each KafkaUser into ACLs on the brokers and a Secret of the same name: key
`password` for SCRAM-SHA-512, `user.crt`/`user.key` for mutual TLS. The pods refer to that Secret, so they wait
(CreateContainerConfigError, or ContainerCreating for a volume) until the user operator has written it. The
cluster CA comes from Strimzi's `<cluster>-cluster-ca-cert` Secret (key ca.crt), mounted read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stockfeed_contracts import envs
from stockfeed_operator.feed import InvalidSpecError
from stockfeed_operator.secret_refs import read_only_mount, secret_env, secret_volume

NONE, SCRAM, MUTUAL_TLS = "none", "scram-sha-512", "tls"
SASL_MECHANISM = "SCRAM-SHA-512"
PASSWORD_KEY = "password"  # noqa: S105 - the key Strimzi writes the password under, not a password
CA_KEY, CERT_KEY, KEY_KEY = "ca.crt", "user.crt", "user.key"
CA_VOLUME, USER_VOLUME = "kafka-ca", "kafka-user"
CA_DIR, USER_DIR = "/etc/stockfeed/kafka-ca", "/etc/stockfeed/kafka-user"
# OpenSSL cannot put a longer common name in a certificate: Strimzi refuses such TLS users
MAX_TLS_USER_NAME = 64

Acl = dict[str, Any]


@dataclass(frozen=True)
class ClientAccess:
    """What one component's pod gets to reach a secured Kafka: variables, secret references and volumes."""

    plain: dict[str, str] = field(default_factory=dict)
    secret_refs: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)


def kafka_user_acls(role: str, topic: str, group: str | None) -> list[Acl]:
    """Least privilege per component, as Strimzi v1 `spec.authorization.acls` rules (all literal, all allow).

    producer: Write and Describe on its topic. Since KIP-679 (Kafka 2.8) Write on a topic also lets an
    idempotent producer get its producer id, so no cluster-wide IdempotentWrite is needed.
    consumer: Read and Describe on its topic, Read on its own group (joins, offset commits and fetches).
    """
    if role == "producer":
        return [_rule("topic", topic, "Write", "Describe")]
    if role == "consumer":
        if not group:
            raise ValueError("a consumer's ACLs need its consumer group")
        return [_rule("topic", topic, "Read", "Describe"), _rule("group", group, "Read")]
    raise ValueError(f"unknown role {role!r}: producer or consumer")


def user_spec(authentication: str, acls: list[Acl]) -> dict[str, Any]:
    """A KafkaUser's spec: how it authenticates, and the simple (ACL) authorization Strimzi applies."""
    return {"authentication": {"type": authentication}, "authorization": {"type": "simple", "acls": acls}}


def check_user_name(name: str, authentication: str) -> None:
    if authentication == MUTUAL_TLS and len(name) > MAX_TLS_USER_NAME:
        raise InvalidSpecError(
            "KafkaUserNameTooLong",
            f"the KafkaUser {name} is longer than {MAX_TLS_USER_NAME} characters, too long for a TLS client "
            "certificate's common name: use a shorter feed name (or SCRAM-SHA-512 authentication)",
        )


def security_protocol(authentication: str, tls: bool) -> str:
    if authentication == SCRAM:
        return "SASL_SSL" if tls else "SASL_PLAINTEXT"
    return "SSL" if tls or authentication == MUTUAL_TLS else "PLAINTEXT"


def client_access(component: str, *, authentication: str, tls: bool, user: str, ca_secret: str) -> ClientAccess:
    """The pod side of `user` for `component` (envs.PRODUCER or envs.CONSUMER).

    Plaintext without authentication renders nothing, so a cluster without security keeps its pods as they were.
    The password only ever appears as a secretKeyRef to the user's Secret.
    """
    if authentication == NONE and not tls:
        return ClientAccess()
    mutual = authentication == MUTUAL_TLS
    ca_file = f"{CA_DIR}/{CA_KEY}" if tls or mutual else None
    plain = envs.kafka_security_env(
        component,
        protocol=security_protocol(authentication, tls),
        sasl_mechanism=SASL_MECHANISM if authentication == SCRAM else None,
        sasl_username=user if authentication == SCRAM else None,
        ssl_ca_file=ca_file,
        ssl_cert_file=f"{USER_DIR}/{CERT_KEY}" if mutual else None,
        ssl_key_file=f"{USER_DIR}/{KEY_KEY}" if mutual else None,
    )
    secret_refs = []
    if authentication == SCRAM:
        password = envs.variable(component, envs.KAFKA_SASL_PASSWORD)
        secret_refs.append(secret_env(password, user, PASSWORD_KEY))
    volumes, mounts = [], []
    if ca_file:
        volumes.append(secret_volume(CA_VOLUME, ca_secret, CA_KEY))
        mounts.append(read_only_mount(CA_VOLUME, CA_DIR))
    if mutual:
        volumes.append(secret_volume(USER_VOLUME, user, CERT_KEY, KEY_KEY))
        mounts.append(read_only_mount(USER_VOLUME, USER_DIR))
    return ClientAccess(plain, secret_refs, volumes, mounts)


def _rule(resource: str, name: str, *operations: str) -> Acl:
    return {"resource": {"type": resource, "name": name, "patternType": "literal"}, "operations": list(operations)}
