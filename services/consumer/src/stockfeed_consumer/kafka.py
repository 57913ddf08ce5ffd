"""The librdkafka configuration of the consumer (pure) and the extra properties file it may merge in."""

from __future__ import annotations

from typing import Any

from stockfeed_consumer.config import ConsumerSettings
from stockfeed_consumer.errors import ConfigError
from stockfeed_contracts.kafka_security import librdkafka_properties

# Properties the writer's guarantees depend on: a properties file may not change them.
_OWNED = ("enable.auto.commit", "enable.auto.offset.store", "group.id", "bootstrap.servers")


def parse_properties(text: str) -> dict[str, str]:
    """`key=value` lines (Java properties style, `#` and `!` comments); values are never logged."""
    properties: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"line {number}: expected key=value")
        properties[key.strip()] = value.strip()
    return properties


def consumer_config(settings: ConsumerSettings) -> dict[str, Any]:
    """Security from the CONSUMER_KAFKA_* variables, the properties file's entries on top, then what the writer owns."""
    security = settings.kafka_security
    config: dict[str, Any] = dict(librdkafka_properties(security))
    if settings.kafka_properties_file is not None:
        try:
            extra = parse_properties(settings.kafka_properties_file.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"CONSUMER_KAFKA_PROPERTIES_FILE: {error}") from None
        owned = sorted(set(extra) & set(_OWNED))
        if owned:
            raise ConfigError(f"CONSUMER_KAFKA_PROPERTIES_FILE may not set {', '.join(owned)}")
        # With the default PLAINTEXT the file may still carry all security (as before these variables existed);
        # once the variables chose a protocol, a file saying otherwise is a mistake, not an override.
        clash = sorted(key for key in extra if key in config and extra[key] != config[key])
        if clash and security.protocol != "PLAINTEXT":
            raise ConfigError(
                f"CONSUMER_KAFKA_PROPERTIES_FILE sets {', '.join(clash)} unlike the CONSUMER_KAFKA_* security "
                "variables; set them in one place"
            )
        config.update(extra)
    config.update(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.group_id,
            "enable.auto.commit": False,  # offsets are committed by the writer, after the object is written
            "enable.auto.offset.store": False,
            "auto.offset.reset": settings.auto_offset_reset,
            "partition.assignment.strategy": settings.assignment_strategy,
            "session.timeout.ms": settings.session_timeout_ms,
            "queued.max.messages.kbytes": settings.queued_max_kbytes,
            "client.id": "stockfeed-consumer",
        }
    )
    if settings.group_instance_id:
        config["group.instance.id"] = settings.group_instance_id
    return config
