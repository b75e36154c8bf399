#!/usr/bin/env bash
# Installs what the Python packages need, for Debian's /usr/bin/python3: the heat publisher's
# Kafka client python3-confluent-kafka (librdkafka), and the rollout bridge's torch
# (python3-torch: CPU build with gloo; it cannot come from PyPI here). Idempotent: does nothing
# when they import.
set -euo pipefail
. "$(dirname "$0")/lib/debian-package.sh"

PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
  echo "python-deps: $PY not found; install Debian's python3 first (apt-get install -y python3)" >&2
  exit 1
fi
debian_package python-deps python3-confluent-kafka "$PY" -c 'import confluent_kafka'
"$PY" -c 'import confluent_kafka as c; print("python-deps: confluent_kafka", c.version()[0], "/ librdkafka", c.libversion()[0])'
debian_package python-deps python3-torch "$PY" -c 'import torch.distributed as d; assert d.is_gloo_available()'
"$PY" -c 'import torch, torch.distributed as d; print("python-deps: torch", torch.__version__, "/ gloo", d.is_gloo_available())'
