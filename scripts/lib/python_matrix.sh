# shellcheck shell=bash
# The interpreter matrix: pyproject.toml says requires-python >= 3.9, so the
# Python suites run on every CPython from 3.9 to 3.13 (pyenv's, which every CI
# machine has) and on a free-threaded 3.13t (scripts/lib/cpython_ft.sh).
# Sourced by scripts/test and scripts/python-matrix, after scripts/lib/common.sh.
#
# Each interpreter gets its own venv, .venv-matrix/<version> (gitignored), with
# the test requirements and the package installed from this clone; the wheel's
# CMake build dir is kept in $BT_BUILD/python-wheel-<version>, so a re-run
# rebuilds only what changed. The suites themselves are CTest tests
# (python_matrix_<version>, label python-matrix; tests/python/CMakeLists.txt),
# registered from BT_PYTHON_MATRIX, which bt_matrix_prepare sets.
#
# Cost on 2 shared cores (measured): a fresh venv about 40 s (requirements
# from pip's cache 11 s, the wheel 20 s with ccache warm — its LTO link is not
# cached —, the PyO3 example 10 s), a re-run's prepare about 5 s per version;
# a version's suite about 70 CPU-s, 90-120 s of wall time.

source "$BT_ROOT/scripts/lib/cpython_ft.sh"

BT_MATRIX_VERSIONS=(3.9 3.10 3.11 3.12 3.13 3.13t)
BT_MATRIX_VENVS="${BT_MATRIX_VENVS:-$BT_ROOT/.venv-matrix}"
# Requirements of BT_PY_REQS that only the main interpreter's runs need:
# coverage (gcovr), and the engine tests' clients (test_engine_*.py run on the
# main interpreter only: tests/python/CMakeLists.txt says why).
BT_MATRIX_MAIN_ONLY_REQS=(gcovr opentelemetry-proto
                          opentelemetry-exporter-otlp-proto-http gunicorn)

# The base interpreter of version $1 (3.9 … 3.13: the newest pyenv patch
# release of it; 3.13t: the cached free-threaded build, built when missing).
bt_matrix_base_python() {
  local ver="$1"
  if [ "$ver" = 3.13t ]; then
    bt_ensure_cpython_ft
    return
  fi
  local root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  local dir
  dir="$(find "$root/versions" -maxdepth 1 -name "$ver.*" 2>/dev/null | sort -V | tail -n1)"
  if [ -z "$dir" ] || [ ! -x "$dir/bin/python$ver" ]; then
    echo "CPython $ver not found under $root/versions (pyenv install $ver)" >&2
    return 1
  fi
  printf '%s\n' "$dir/bin/python$ver"
}

# Hook: what a venv needs beyond the requirements and the package, for test
# files that import extensions the test command installs rather than a
# fixture builds. $1 is the venv's python, $2 the version. Add yours here.
bt_matrix_venv_extras() {
  local py="$1" ver="$2"
  # The PyO3 example (tests/python/test_pyo3_shared_registry.py), as the FFI
  # block of scripts/test installs it into .venv. Its cargo target dir is a
  # cache outside the clone, one per version (abi3 serves 3.9 to 3.13 with
  # one build, but the link and the free-threaded build differ), so a fresh
  # clone relinks instead of compiling pyo3 six times.
  if [ -f "$BT_ROOT/examples/pyo3_ext/Cargo.toml" ]; then
    bt_pip_ensure "$py" "maturin>=1.8,<2"
    bt_log "matrix $ver: installing the PyO3 example (examples/pyo3_ext)"
    local cargo_env=() minor
    # Debian's cargo (1.65) reaches crates.io only through the sparse index,
    # which cargo calls unstable before 1.68.
    minor="$(cargo --version | sed -n 's/^cargo 1\.\([0-9]*\)\..*/\1/p')"
    if [ -n "$minor" ] && [ "$minor" -lt 68 ]; then
      cargo_env=(RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_SPARSE_REGISTRY=true)
    fi
    env "${cargo_env[@]}" PATH="$(dirname "$py"):$PATH" CARGO_TARGET_DIR="$BT_CACHE/pyo3-target-$ver" \
      MATURIN_NO_INSTALL_RUST=1 \
      "$py" -m pip install -q --no-build-isolation --no-deps "$BT_ROOT/examples/pyo3_ext"
  fi
}

# Makes (or updates) the venv of version $1: $BT_MATRIX_VENVS/$1.
bt_matrix_venv() {
  local ver="$1" base venv py
  base="$(bt_matrix_base_python "$ver")" || return 1
  venv="$BT_MATRIX_VENVS/$ver"
  py="$venv/bin/python"
  if [ ! -x "$py" ] || ! "$py" -c '' 2>/dev/null; then
    bt_log "matrix $ver: creating $venv from $base"
    rm -rf "$venv"
    "$base" -m venv "$venv"
    # The pip of 3.9's and 3.10's ensurepip predates -C (config settings).
    "$py" -m pip install -q --upgrade pip
  fi
  local reqs=() r skip m
  for r in "${BT_PY_REQS[@]}"; do
    skip=0
    for m in "${BT_MATRIX_MAIN_ONLY_REQS[@]}"; do
      case "$r" in "$m"|"$m"[\<\>=!~\ ]*) skip=1 ;; esac
    done
    [ "$skip" = 1 ] || reqs+=("$r")
  done
  bt_pip_ensure "$py" "${reqs[@]}"
  bt_log "matrix $ver: installing the boundarytrace package into $venv"
  "$py" -m pip install -q --no-build-isolation --no-deps \
    -C build-dir="$BT_BUILD/python-wheel-$ver" "$BT_ROOT"
  bt_matrix_venv_extras "$py" "$ver"
}

# Makes the venvs of the versions "$@" (all by default), one after another,
# and sets BT_PYTHON_MATRIX for CMake: "<version>=<python>;…".
bt_matrix_prepare() {
  local versions=("$@") ver out=()
  [ "${#versions[@]}" -gt 0 ] || versions=("${BT_MATRIX_VERSIONS[@]}")
  bt_use_ccache  # scripts/lib/deps.d/ccache.sh
  for ver in "${versions[@]}"; do
    bt_matrix_venv "$ver"
    out+=("$ver=$BT_MATRIX_VENVS/$ver/bin/python")
  done
  BT_PYTHON_MATRIX="$(IFS=';'; printf '%s' "${out[*]}")"
}
