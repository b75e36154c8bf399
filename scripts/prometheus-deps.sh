#!/usr/bin/env bash
# Installs promtool (Debian's prometheus package), which checks and unit-tests the alert rules
# under deploy/prometheus. Idempotent: does nothing when promtool runs.
set -euo pipefail
. "$(dirname "$0")/lib/debian-package.sh"
debian_package prometheus-deps prometheus promtool --version
