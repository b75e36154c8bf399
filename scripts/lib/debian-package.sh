# Sourced by the *-deps.sh scripts: installs one Debian package when its check fails.
# Usage: debian_package NAME PACKAGE CHECK...  (CHECK is a command that succeeds once it is there)
# Idempotent: nothing is installed when CHECK already succeeds. Needs root or password-less sudo.
debian_package() {
  local name=$1 pkg=$2
  shift 2
  if "$@" >/dev/null 2>&1; then
    echo "$name: $pkg already installed"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$name: apt-get not found; install the Debian/Ubuntu package $pkg by other means" >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "$name: installing $pkg needs root; run: sudo apt-get install -y --no-install-recommends $pkg  (or re-run this script as root)" >&2
      return 1
    fi
  fi
  echo "$name: installing $pkg"
  # The package's own service is never started here (no init in containers; policy-rc.d may deny it):
  # only its binaries are wanted.
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg"; then
    echo "$name: install failed; refreshing the package index and retrying" >&2
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg"
  fi
  "$@"
}
