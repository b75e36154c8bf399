"""A broker's SASL credentials from the environment, under the names the control plane's apps use.

``KAFKA_SASL_MECHANISM`` (scram-sha-512 | scram-sha-256 | plain), ``KAFKA_SASL_USERNAME`` and
``KAFKA_SASL_PASSWORD``: all three or none. On a broker run with ``KAFKA_SECURITY=scram`` workers
write heat as the ``worker`` principal; anything without credentials is refused there.
"""

from __future__ import annotations

from typing import Mapping

MECHANISMS = ("scram-sha-512", "scram-sha-256", "plain")
_NAMES = ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")


def sasl_config(env: Mapping[str, str]) -> dict:
    """librdkafka settings for the credentials in ``env``; ``{}`` when none are set."""
    mechanism, username, password = (env.get(n) or None for n in _NAMES)
    given = [n for n, v in zip(_NAMES, (mechanism, username, password)) if v is not None]
    if not given:
        return {}
    if len(given) != len(_NAMES):
        missing = ", ".join(n for n in _NAMES if n not in given)
        raise ValueError(f"{missing}: required with the other KAFKA_SASL_* settings")
    if mechanism not in MECHANISMS:
        raise ValueError(f"KAFKA_SASL_MECHANISM: must be one of {', '.join(MECHANISMS)}, got {mechanism!r}")
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism.upper(),
        "sasl.username": username,
        "sasl.password": password,
    }
