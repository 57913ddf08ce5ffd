"""What a feed's producer and consumer get to reach a Kafka the operator does not run (provider external) (pure).

The operator may not read Secrets, so the pods take their credentials straight from OPERATOR_KAFKA_CLIENT_SECRET
(a Secret in the feed's namespace) by reference, in the same shape as the operator's own client: the security
protocol and SASL mechanism are the operator's settings (plain, in the ConfigMap); the user name and password are
`secretKeyRef`s to the keys below; the CA (when the operator has OPERATOR_KAFKA_SSL_CA_FILE) and the client
certificate (when it has OPERATOR_KAFKA_SSL_CERT_FILE) are the Secret's keys mounted read-only as files.
"""

from __future__ import annotations

from typing import Any

from stockfeed_contracts import envs, kafka_security
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.kafka_users import ClientAccess

# the keys of the client Secret (kubernetes.io/tls names for the certificate, so a TLS Secret can be reused)
USERNAME_KEY, PASSWORD_KEY = "sasl-username", "sasl-password"
CA_KEY, CERT_KEY, KEY_KEY = "ca.crt", "tls.crt", "tls.key"
CA_VOLUME, CERT_VOLUME = "kafka-ca", "kafka-client"
CA_DIR, CERT_DIR = "/etc/stockfeed/kafka-ca", "/etc/stockfeed/kafka-client"


def client_access(component: str, settings: OperatorSettings) -> ClientAccess:
    """The pod side of the external Kafka for `component` (envs.PRODUCER or envs.CONSUMER).

    PLAINTEXT renders nothing (only the bootstrap address, set elsewhere).
    """
    security = kafka_security.from_settings(settings, None)  # no password: the pods get theirs by reference
    if security.protocol == "PLAINTEXT" or not settings.kafka_client_secret:
        return ClientAccess()
    secret = settings.kafka_client_secret
    with_ca = security.uses_tls and security.ssl_ca_file is not None
    with_cert = security.uses_tls and security.ssl_cert_file is not None
    plain = envs.kafka_security_env(
        component,
        protocol=security.protocol,
        sasl_mechanism=security.sasl_mechanism if security.uses_sasl else None,
        ssl_ca_file=f"{CA_DIR}/{CA_KEY}" if with_ca else None,
        ssl_cert_file=f"{CERT_DIR}/{CERT_KEY}" if with_cert else None,
        ssl_key_file=f"{CERT_DIR}/{KEY_KEY}" if with_cert else None,
    )
    secret_refs = []
    if security.uses_sasl:
        secret_refs = [
            _secret_env(envs.variable(component, envs.KAFKA_SASL_USERNAME), secret, USERNAME_KEY),
            _secret_env(envs.variable(component, envs.KAFKA_SASL_PASSWORD), secret, PASSWORD_KEY),
        ]
    volumes, mounts = [], []
    if with_ca:
        volumes.append(_secret_volume(CA_VOLUME, secret, CA_KEY))
        mounts.append({"name": CA_VOLUME, "mountPath": CA_DIR, "readOnly": True})
    if with_cert:
        volumes.append(_secret_volume(CERT_VOLUME, secret, CERT_KEY, KEY_KEY))
        mounts.append({"name": CERT_VOLUME, "mountPath": CERT_DIR, "readOnly": True})
    return ClientAccess(plain, secret_refs, volumes, mounts)


def _secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _secret_volume(name: str, secret: str, *keys: str) -> dict[str, Any]:
    # only the files the client reads: the password stays out of the file system
    return {"name": name, "secret": {"secretName": secret, "items": [{"key": key, "path": key} for key in keys]}}
