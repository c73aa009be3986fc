# shellcheck shell=bash
# The FFI tests (tests/ffi: C, Node.js through koffi, LuaJIT) and the PyO3
# example (examples/pyo3_ext). Sourced by scripts/lib/common.sh.

# LuaJIT and its FFI.
BT_DEBS+=(luajit)

# Node.js and npm for the koffi test: the machine's own when present (a newer
# Node than Debian's; never replaced), Debian's otherwise. koffi itself comes
# from npm (tests/ffi/node/package-lock.json), installed by CTest.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  BT_DEBS+=(nodejs npm)
fi

# Rust for the PyO3 example: the machine's cargo (rustup) when present, also
# when only ~/.cargo/bin holds it; Debian's otherwise (rustc 1.63: pyo3 0.25,
# pinned in Cargo.lock with dependencies resolved for 1.63, builds with it).
# maturin comes from PyPI (the FFI block of scripts/test).
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    BT_DEBS+=(cargo rustc)
  fi
fi
