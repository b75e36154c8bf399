#!/usr/bin/env bash
# Validates docker-compose.yml with whichever Compose client the machine has (no engine needed):
# the `docker compose` plugin, or the standalone docker-compose, installed from Debian if absent.
set -euo pipefail
cd "$(dirname "$0")/.."
if docker compose version >/dev/null 2>&1; then
  exec docker compose -f docker-compose.yml config -q
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "compose-check: installing Debian's docker-compose to validate the compose file" >&2
    (apt-get install -y -qq docker-compose >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq docker-compose >/dev/null; })
  else
    echo "compose-check: no Compose client (docker compose or docker-compose) to validate docker-compose.yml" >&2
    exit 1
  fi
fi
exec docker-compose -f docker-compose.yml config -q
