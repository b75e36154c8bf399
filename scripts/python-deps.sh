#!/usr/bin/env bash
# Installs what the Python heat publisher (python/eplb_heat) needs, for Debian's /usr/bin/python3:
# the Kafka client python3-confluent-kafka (librdkafka). Idempotent: does nothing when it imports.
set -euo pipefail
. "$(dirname "$0")/lib/debian-package.sh"

PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
  echo "python-deps: $PY not found; install Debian's python3 first (apt-get install -y python3)" >&2
  exit 1
fi
debian_package python-deps python3-confluent-kafka "$PY" -c 'import confluent_kafka'
"$PY" -c 'import confluent_kafka as c; print("python-deps: confluent_kafka", c.version()[0], "/ librdkafka", c.libversion()[0])'
