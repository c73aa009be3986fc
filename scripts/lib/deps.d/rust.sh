# shellcheck shell=bash
# The Rust crates (rust/): their tests run with two toolchains, rustup's cargo
# on PATH and Debian's (rustc 1.63, the crates' rust-version), which
# rust/CMakeLists.txt calls by absolute path (/usr/bin/cargo, /usr/bin/rustc).
# Sourced by scripts/lib/common.sh.
BT_DEBS+=(cargo rustc)
