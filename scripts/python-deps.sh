#!/usr/bin/env bash
# Installs what the Python heat publisher (python/eplb_heat) needs, for Debian's /usr/bin/python3:
# the Kafka client python3-confluent-kafka (librdkafka). Idempotent: does nothing when it imports.
set -euo pipefail

PY=/usr/bin/python3
PKG=python3-confluent-kafka

if [ ! -x "$PY" ]; then
  echo "python-deps: $PY not found; install Debian's python3 first (apt-get install -y python3)" >&2
  exit 1
fi
if "$PY" -c 'import confluent_kafka' 2>/dev/null; then
  echo "python-deps: confluent_kafka $("$PY" -c 'import confluent_kafka as c; print(c.version()[0], "/ librdkafka", c.libversion()[0])') already installed for $PY"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "python-deps: apt-get not found; install the Debian/Ubuntu package $PKG (confluent_kafka for $PY) by other means" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "python-deps: installing $PKG needs root; run: sudo apt-get install -y $PKG  (or re-run this script as root)" >&2
    exit 1
  fi
fi
echo "python-deps: installing $PKG"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$PKG"; then
  echo "python-deps: install failed; refreshing the package index and retrying" >&2
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "$PKG"
fi
"$PY" -c 'import confluent_kafka as c; print("python-deps: confluent_kafka", c.version()[0], "/ librdkafka", c.libversion()[0], "installed")'
