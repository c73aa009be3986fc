# Shared by scripts/demo and scripts/test: install what is missing, configure
# and build. Sourced, not run.
set -euo pipefail

BT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BT_BUILD="${BT_BUILD:-$BT_ROOT/build}"

# Debian packages the build and the tests need.
BT_DEBS=(cmake ninja-build g++ pkg-config libcmocka-dev libatomic-ops-dev binutils)

bt_log() { printf '\n==> %s\n' "$*"; }

bt_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages among "$@" that are not installed yet.
bt_ensure_debs() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    bt_log "installing Debian packages: ${missing[*]}"
    bt_as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive bt_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

bt_configure_and_build() {
  bt_log "configuring in $BT_BUILD"
  cmake -S "$BT_ROOT" -B "$BT_BUILD" -G Ninja "$@"
  bt_log "building"
  cmake --build "$BT_BUILD"
}
