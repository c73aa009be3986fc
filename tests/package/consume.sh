#!/usr/bin/env bash
# Installs boundarytrace from a build tree into a scratch prefix, then consumes
# it the ways a user would: pkg-config + cc/c++, and find_package() from a
# standalone CMake project. Checks the SONAME, the exported symbols and the
# pkg-config static libs on the way.
#
# Usage: consume.sh <build-dir> <source-dir> <scratch-dir>
# Environment (all optional; CTest sets them):
#   CC, CXX                 compilers for the consumers (default cc, c++)
#   BT_BUILT_LIBRARY        the library the build produced (checked to exist)
#   BT_EXPECT_PRIVATE_LIBS  flags `pkg-config --static --libs` must contain
#   BT_CMAKE_GENERATOR      generator for the standalone projects
set -euo pipefail

fail() {
  echo "consume.sh: FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

[[ $# -eq 3 ]] || fail "usage: $0 <build-dir> <source-dir> <scratch-dir>"
build=$(cd "$1" && pwd) || fail "no build dir $1"
src=$(cd "$2" && pwd) || fail "no source dir $2"
scratch=$3
CC=${CC:-cc}
CXX=${CXX:-c++}
CMAKE=${CMAKE:-cmake}
for tool in "$CMAKE" readelf nm pkg-config "$CC" "$CXX"; do
  command -v "$tool" >/dev/null || fail "tool not found: $tool"
done
if [[ -n ${BT_BUILT_LIBRARY:-} && ! -f $BT_BUILT_LIBRARY ]]; then
  fail "the library is not built ($BT_BUILT_LIBRARY missing): build the project before running ctest"
fi

rm -rf "$scratch"
mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
prefix=$scratch/prefix

# --- install -----------------------------------------------------------------
step "install into $prefix"
"$CMAKE" --install "$build" --prefix "$prefix" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; fail "cmake --install failed"; }

pcfile=$(find "$prefix" -name boundarytrace.pc -path '*/pkgconfig/*' | head -n 1)
[[ -n $pcfile ]] || fail "boundarytrace.pc not installed under $prefix"
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
lib=$libdir/libboundarytrace.so.1
[[ -e $lib ]] || fail "$lib not installed (files: $(cd "$prefix" && find . -name 'libboundarytrace*' | tr '\n' ' '))"
[[ -L $libdir/libboundarytrace.so ]] || fail "development symlink $libdir/libboundarytrace.so missing"
for h in bt.h bt_noop.h bt.hpp; do
  [[ -f $prefix/include/boundarytrace/$h ]] || fail "header boundarytrace/$h not installed"
done
[[ -n $(find "$prefix" -name boundarytraceConfig.cmake) ]] || fail "boundarytraceConfig.cmake not installed"
[[ -n $(find "$prefix" -name boundarytraceConfigVersion.cmake) ]] || fail "boundarytraceConfigVersion.cmake not installed"

# --- SONAME --------------------------------------------------------------------
step "SONAME"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $soname == libboundarytrace.so.1 ]] || fail "SONAME is '$soname', expected libboundarytrace.so.1"
echo "SONAME $soname"

# --- exported symbols ------------------------------------------------------------
step "exported symbols"
# nm prints "addr type name" (binutils >= 2.35 appends @@VERSION to the name).
# The version node itself (e.g. "A BOUNDARYTRACE_1") is not a symbol of ours.
symbols=$(nm -D --defined-only "$lib" | awk '
  NF >= 3 { name = $3 } NF == 2 { name = $2 }
  { sub(/@.*/, "", name); if (!($(NF-1) == "A" && name ~ /^BOUNDARYTRACE_/)) print name }')
[[ -n $symbols ]] || fail "no defined dynamic symbols in $lib"
stray=$(grep -v '^bt_' <<<"$symbols" || true)
[[ -z $stray ]] || fail "symbols outside bt_* are exported: $(tr '\n' ' ' <<<"$stray")"
for must in bt_version bt_tracer_new bt_phase_begin bt_metrics_snapshot bt_snapshot_format; do
  grep -qx "$must" <<<"$symbols" || fail "$must is not exported"
done
echo "$(wc -l <<<"$symbols") symbols, all bt_*"

# --- pkg-config ----------------------------------------------------------------
step "pkg-config"
export PKG_CONFIG_PATH=$pcdir
cflags=$(pkg-config --cflags boundarytrace)
libs=$(pkg-config --libs boundarytrace)
static_libs=$(pkg-config --static --libs boundarytrace)
pc_libdir=$(pkg-config --variable=libdir boundarytrace)
echo "cflags: $cflags"
echo "libs: $libs"
echo "static libs: $static_libs"
[[ $(cd "$pc_libdir" 2>/dev/null && pwd -P) == $(cd "$libdir" && pwd -P) ]] ||
  fail "pkg-config libdir is '$pc_libdir', not the install prefix's $libdir (is the .pc relocatable?)"
[[ $libs == *-lboundarytrace* ]] || fail "pkg-config --libs lacks -lboundarytrace: $libs"
for flag in ${BT_EXPECT_PRIVATE_LIBS:--lstdc++ -lm -lpthread}; do
  [[ " $static_libs " == *" $flag "* ]] || fail "pkg-config --static --libs lacks private lib $flag: $static_libs"
  [[ " $libs " != *" $flag "* ]] || fail "pkg-config --libs (shared) leaks private lib $flag: $libs"
done

# Runs an executable and checks it resolved the installed library.
run_consumer() {
  local exe=$1 log=$scratch/$(basename "$1").log
  local resolved
  resolved=$(ldd "$exe" | awk '/libboundarytrace/ { print $3 }')
  [[ $(readlink -f "$resolved") == $(readlink -f "$lib") ]] ||
    fail "$exe loads '$resolved', not the installed $lib"
  local rc=0
  "$exe" >"$log" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] || { cat "$log" >&2; fail "$exe exited with status $rc"; }
  grep -q insert_many "$log" || { cat "$log" >&2; fail "$exe printed no report for insert_many"; }
  echo "ran $exe ($(wc -l <"$log") lines of output)"
}

step "build examples with pkg-config"
# shellcheck disable=SC2086  # the flags are meant to split
"$CC" -o "$scratch/pc_example_c" "$src/examples/c/example.c" $cflags $libs -lpthread \
  -Wl,-rpath,"$libdir" || fail "cc with pkg-config flags failed"
# shellcheck disable=SC2086
"$CXX" -std=c++17 -o "$scratch/pc_example_cpp" "$src/examples/cpp/example.cpp" $cflags $libs \
  -lpthread -Wl,-rpath,"$libdir" || fail "c++ with pkg-config flags failed"
# The installed headers alone are clean under strict flags.
echo '#include <boundarytrace/bt.h>' | "$CC" -std=c99 -Wall -Wextra -Werror -pedantic $cflags -x c -fsyntax-only - ||
  fail "installed bt.h does not compile alone as C99"
echo '#include <boundarytrace/bt.hpp>' | "$CXX" -std=c++17 -Wall -Wextra -Werror -pedantic $cflags -x c++ -fsyntax-only - ||
  fail "installed bt.hpp does not compile alone as C++17"
run_consumer "$scratch/pc_example_c"
run_consumer "$scratch/pc_example_cpp"

step "build examples as standalone CMake projects (find_package)"
gen=()
if [[ -n ${BT_CMAKE_GENERATOR:-} ]]; then gen=(-G "$BT_CMAKE_GENERATOR"); fi
for ex in c cpp; do
  bdir=$scratch/cmake_example_$ex
  "$CMAKE" -S "$src/examples/$ex" -B "$bdir" "${gen[@]}" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
    >"$bdir.configure.log" 2>&1 || { cat "$bdir.configure.log" >&2; fail "configuring examples/$ex standalone failed"; }
  grep -q "boundarytrace_DIR" "$bdir/CMakeCache.txt" || fail "examples/$ex did not use find_package(boundarytrace)"
  found=$(sed -n 's/^boundarytrace_DIR:PATH=//p' "$bdir/CMakeCache.txt")
  [[ $found == "$prefix"/* ]] || fail "examples/$ex found boundarytrace in '$found', not under $prefix"
  "$CMAKE" --build "$bdir" >"$bdir.build.log" 2>&1 || { cat "$bdir.build.log" >&2; fail "building examples/$ex standalone failed"; }
  run_consumer "$bdir/bt_example_$ex"
done

echo "package_install_and_consume: OK"
