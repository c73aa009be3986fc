#!/usr/bin/env bash
# The ABI gate: the built library against the committed baseline
# (capi/abi/libboundarytrace.abi, libabigail's abidw format).
#  - any change but added functions fails: renew the baseline on purpose
#    (capi/abi/update-baseline), raising BT_ABI_VERSION if it is incompatible;
#  - the SONAME carries BT_ABI_VERSION, and the baseline's SONAME is the same;
#  - only bt_* symbols are exported.
# Usage: check_abi.sh LIBRARY BASELINE HEADERS_DIR
set -uo pipefail
lib="$1" baseline="$2" headers="$3"
fail() { echo "ABI gate: $*" >&2; exit 1; }

abi_major="$(sed -n 's/^#define BT_ABI_VERSION \([0-9]*\).*/\1/p' "$headers/bt.h")"
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libboundarytrace.so.$abi_major" ] || fail "SONAME is '$soname', BT_ABI_VERSION is $abi_major"
grep -q "soname='$soname'" "$baseline" || fail "the baseline is for another SONAME than $soname: renew it (capi/abi/update-baseline)"

others="$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v -e '^bt_' -e '^BOUNDARYTRACE_' || true)"
[ -z "$others" ] || fail "symbols other than bt_* are exported: $others"
echo "exported: $(nm -D --defined-only "$lib" | grep -c ' bt_') bt_* symbols, nothing else"

abidiff --no-added-syms --headers-dir2 "$headers" "$baseline" "$lib"
rc=$?
# abidiff's exit code is a bit set: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
(( rc & 3 )) && fail "abidiff could not compare (exit $rc)"
(( rc & 12 )) && fail "the ABI changed against the baseline (above). An added function is fine; \
anything else must be deliberate: renew the baseline with capi/abi/update-baseline, and for an \
incompatible change raise BT_ABI_VERSION (the SONAME major) in bt.h first"
echo "ABI unchanged against the baseline (added functions allowed)"
