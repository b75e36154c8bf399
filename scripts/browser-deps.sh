#!/usr/bin/env bash
# Installs headless Chromium (Debian's chromium package) for the console's browser tests, which
# drive it with playwright-core: browsers cannot be downloaded at test time, so Playwright's own
# builds are not used. Idempotent: does nothing when /usr/bin/chromium runs.
set -euo pipefail
. "$(dirname "$0")/lib/debian-package.sh"
debian_package browser-deps chromium /usr/bin/chromium --headless=new --no-sandbox --version
