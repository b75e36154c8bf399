"""A broker's SASL credentials from the environment, under the names the control plane's apps use.

``KAFKA_SASL_MECHANISM`` (scram-sha-512 | scram-sha-256 | plain), ``KAFKA_SASL_USERNAME`` and
``KAFKA_SASL_PASSWORD``: all three or none. On a broker run with ``KAFKA_SECURITY=scram`` workers
write heat as the ``worker`` principal; anything without credentials is refused there.
"""

from __future__ import annotations

from typing import Mapping

MECHANISMS = ("scram-sha-512", "scram-sha-256", "plain")
_NAMES = ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
# librdkafka before 2.6.1 repeats the client nonce in its SCRAM final message; Kafka 4 brokers
# check the nonce strictly and answer "invalid credentials" forever (librdkafka PR #4895).
_SCRAM_FIXED = 0x02060100


def sasl_config(env: Mapping[str, str], librdkafka_version: int | None = None) -> dict:
    """librdkafka settings for the credentials in ``env``; ``{}`` when none are set.

    ``librdkafka_version`` (``confluent_kafka.libversion()[1]``), when given, refuses SCRAM on a
    librdkafka that cannot complete it against our Kafka 4 broker, instead of retrying in vain.
    """
    mechanism, username, password = (env.get(n) or None for n in _NAMES)
    given = [n for n, v in zip(_NAMES, (mechanism, username, password)) if v is not None]
    if not given:
        return {}
    if len(given) != len(_NAMES):
        missing = ", ".join(n for n in _NAMES if n not in given)
        raise ValueError(f"{missing}: required with the other KAFKA_SASL_* settings")
    if mechanism not in MECHANISMS:
        raise ValueError(f"KAFKA_SASL_MECHANISM: must be one of {', '.join(MECHANISMS)}, got {mechanism!r}")
    if mechanism.startswith("scram") and librdkafka_version is not None and librdkafka_version < _SCRAM_FIXED:
        have = ".".join(str((librdkafka_version >> shift) & 0xFF) for shift in (24, 16, 8))
        raise ValueError(
            f"KAFKA_SASL_MECHANISM={mechanism}: librdkafka {have} fails SCRAM against Kafka 4 brokers "
            "(fixed in 2.6.1); install a newer librdkafka / confluent-kafka"
        )
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism.upper(),
        "sasl.username": username,
        "sasl.password": password,
    }
