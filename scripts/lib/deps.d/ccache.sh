# shellcheck shell=bash
# ccache for every CMake build of scripts/test and of the interpreter matrix
# (six wheel builds of the same C++ core, and the test extensions each run
# builds). Sourced by scripts/lib/common.sh.
BT_DEBS+=(ccache)

# The cache lives outside the clone, so a fresh clone starts warm. CMake reads
# CMAKE_<LANG>_COMPILER_LAUNCHER from the environment when it configures a
# build dir for the first time; scikit-build-core's builds and the CMake
# builds of the test fixtures inherit it.
bt_use_ccache() {
  command -v ccache >/dev/null 2>&1 || return 0
  export CCACHE_DIR="${CCACHE_DIR:-${BT_CACHE:-/var/cache/boundarytrace}/ccache}"
  # Paths under the clone are hashed relative to it: another clone hits too.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$BT_ROOT}"
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
}
