"""What a feed's producer and consumer get to reach a Kafka the operator does not run (provider external) (pure).

The operator may not read Secrets, so the pods take their credentials straight from OPERATOR_KAFKA_CLIENT_SECRET
(a Secret in the feed's namespace) by reference, in the same shape as the operator's own client: the security
protocol and SASL mechanism are the operator's settings (plain, in the ConfigMap); the user name and password are
`secretKeyRef`s to the keys below; the CA (when the operator has OPERATOR_KAFKA_SSL_CA_FILE) and the client
certificate (when it has OPERATOR_KAFKA_SSL_CERT_FILE) are the Secret's keys mounted read-only as files.
"""

from __future__ import annotations

from stockfeed_contracts import envs, kafka_security
from stockfeed_operator.config import OperatorSettings
from stockfeed_operator.kafka_users import CA_DIR, CA_KEY, CA_VOLUME, ClientAccess
from stockfeed_operator.secret_refs import read_only_mount, secret_env, secret_volume

# the keys of the client Secret (kubernetes.io/tls names for the certificate, so a TLS Secret can be reused)
USERNAME_KEY, PASSWORD_KEY = "sasl-username", "sasl-password"
CERT_KEY, KEY_KEY = "tls.crt", "tls.key"
CERT_VOLUME, CERT_DIR = "kafka-client", "/etc/stockfeed/kafka-client"


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
            secret_env(envs.variable(component, envs.KAFKA_SASL_USERNAME), secret, USERNAME_KEY),
            secret_env(envs.variable(component, envs.KAFKA_SASL_PASSWORD), secret, PASSWORD_KEY),
        ]
    volumes, mounts = [], []
    if with_ca:
        volumes.append(secret_volume(CA_VOLUME, secret, CA_KEY))
        mounts.append(read_only_mount(CA_VOLUME, CA_DIR))
    if with_cert:
        volumes.append(secret_volume(CERT_VOLUME, secret, CERT_KEY, KEY_KEY))
        mounts.append(read_only_mount(CERT_VOLUME, CERT_DIR))
    return ClientAccess(plain, secret_refs, volumes, mounts)
