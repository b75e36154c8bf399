#!/usr/bin/env bash
# The keys `docker compose up` needs, generated once into .data/compose-secrets (git-ignored) with
# the host's openssl; compose mounts them as secrets. The stack runs with NODE_ENV=production, where
# the rollout service refuses to start without a TLS certificate for its control channel (agents'
# tokens and commands cross the network) and without the Ed25519 key it signs commands with:
# - rollout-service.key / .pub: that key; agents pin the public half.
# - control-tls.key / .pem: a self-signed certificate for the name `rollout`; agents verify against it.
# Existing files are kept (agents have pinned them). Replace them with your own to use your CA.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.data/compose-secrets
mkdir -p "$dir"
if [ ! -f "$dir/rollout-service.key" ]; then
  openssl genpkey -algorithm ed25519 -out "$dir/rollout-service.key"
  openssl pkey -in "$dir/rollout-service.key" -pubout -out "$dir/rollout-service.pub"
fi
if [ ! -f "$dir/control-tls.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 -subj /CN=rollout \
    -addext subjectAltName=DNS:rollout -keyout "$dir/control-tls.key" -out "$dir/control-tls.pem" 2>/dev/null
fi
# the containers run as the image's `node` user (uid 1000): the private keys are readable by it alone
chmod 0600 "$dir/rollout-service.key" "$dir/control-tls.key"
chmod 0644 "$dir/rollout-service.pub" "$dir/control-tls.pem"
if [ "$(id -u)" = 0 ]; then chown 1000:1000 "$dir"/*; fi
echo "compose-secrets: $dir ready (rollout signing key, control-channel certificate)"
