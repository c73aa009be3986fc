# Shared by scripts/demo and scripts/test: install what is missing, configure
# and build. Sourced, not run.
set -euo pipefail

BT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BT_BUILD="${BT_BUILD:-$BT_ROOT/build}"

# Debian packages the build and the tests need. Each binding adds its own in
# scripts/lib/deps.d/<topic>.sh (BT_DEBS+=(...)), so they stay apart.
BT_DEBS=(cmake ninja-build g++ pkg-config libcmocka-dev libatomic-ops-dev binutils libbenchmark-dev libbson-dev prometheus valgrind)
for _bt_deps in "$BT_ROOT"/scripts/lib/deps.d/*.sh; do
  [ -e "$_bt_deps" ] && source "$_bt_deps"
done
unset _bt_deps

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

# --- Python: the project-local virtual environment ---------------------------
# .venv at the repository root, made with the machine's python3. It holds what
# the Python package builds and tests with, and the package itself, installed
# with `pip install .` (scikit-build-core builds the wheel; its CMake build dir
# is kept in $BT_BUILD/python-wheel so a re-install rebuilds only what changed).
BT_VENV="${BT_VENV:-$BT_ROOT/.venv}"
BT_PY_REQS=("scikit-build-core>=0.10" "pybind11>=2.13" "pytest>=7" "prometheus_client>=0.17" "gcovr>=8"
            "Cython>=3.1" "setuptools>=64" "nanobind>=2.4"
            "protobuf>=4.21" "opentelemetry-proto>=1.20" "opentelemetry-sdk>=1.20"
            "opentelemetry-exporter-otlp-proto-http>=1.20" "gunicorn>=22")

# Installs into the environment of python $1 the requirements among "$@"
# (after $1) whose distribution is not installed yet (any version).
bt_pip_ensure() {
  local py="$1" missing
  shift
  missing="$("$py" - "$@" <<'PY'
import re, sys
from importlib import metadata
for req in sys.argv[1:]:
    name = re.split(r"[<>=!~ ]", req, maxsplit=1)[0]
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        print(req)
PY
)"
  if [ -n "$missing" ]; then
    bt_log "installing Python packages into $(dirname "$(dirname "$py")"): $(echo $missing)"
    # shellcheck disable=SC2086
    "$py" -m pip install -q $missing
  fi
}

bt_ensure_venv() {
  # The extension compiles against Python.h: Debian's python3 needs python3-dev.
  if ! python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    bt_ensure_debs python3-dev python3-venv
  fi
  if [ ! -x "$BT_VENV/bin/python" ]; then
    bt_log "creating the virtual environment $BT_VENV"
    if ! python3 -m venv "$BT_VENV"; then
      rm -rf "$BT_VENV"
      bt_ensure_debs python3-venv
      python3 -m venv "$BT_VENV"
    fi
  fi
  bt_pip_ensure "$BT_VENV/bin/python" "${BT_PY_REQS[@]}"
  bt_log "installing the boundarytrace Python package into $BT_VENV"
  "$BT_VENV/bin/python" -m pip install -q --no-build-isolation --no-deps \
    -C build-dir="$BT_BUILD/python-wheel" "$BT_ROOT"
}
