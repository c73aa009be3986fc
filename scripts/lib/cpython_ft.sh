# shellcheck shell=bash
# A free-threaded CPython 3.13 (PEP 703, `python3.13t`), built once from
# Debian trixie's source package python3.13 (its orig tarball) and cached
# outside the clone, since no free-threaded interpreter is packaged here.
# Sourced by scripts/lib/python_matrix.sh (the interpreter matrix of
# scripts/test); bt_ensure_cpython_ft prints the path of the interpreter and
# builds it first when it is missing (about 6 minutes on 2 cores). Delete
# $BT_CACHE/cpython-3.13t to rebuild it.
#
# The source package comes through a private apt configuration (its own
# sources list, lists and cache under the cache directory), so the system's
# apt sources stay as they are; the archive address is the one the system's
# own Debian sources already use.

BT_CACHE="${BT_CACHE:-/var/cache/boundarytrace}"
BT_CPYTHON_FT="$BT_CACHE/cpython-3.13t"
BT_CPYTHON_FT_DEBS=(build-essential xz-utils libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev
                    libsqlite3-dev libreadline-dev uuid-dev libncurses-dev libgdbm-dev)

bt_cpython_ft_ok() {
  [ -x "$BT_CPYTHON_FT/bin/python3.13t" ] &&
    "$BT_CPYTHON_FT/bin/python3.13t" -c 'import sys, sysconfig, ssl, ctypes, sqlite3
sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") == 1 else 1)' 2>/dev/null
}

bt_debian_archive_uri() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
  fi
  [ -n "$uri" ] || { echo "no Debian archive in the system's apt sources" >&2; return 1; }
  printf '%s\n' "$uri"
}

bt_ensure_cpython_ft() {
  if bt_cpython_ft_ok; then
    printf '%s\n' "$BT_CPYTHON_FT/bin/python3.13t"
    return 0
  fi
  bt_ensure_debs "${BT_CPYTHON_FT_DEBS[@]}" >&2
  local work="$BT_CACHE/cpython-3.13t-build"
  local apt_dir="$work/apt"
  rm -rf "$work"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache" "$work/src"
  local uri
  uri="$(bt_debian_archive_uri)"
  echo "deb-src $uri trixie main" > "$apt_dir/sources.list"
  local apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=/dev/null"
                  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  bt_log "free-threaded CPython: fetching trixie's python3.13 source package into $work" >&2
  apt-get "${apt_opts[@]}" -qq update >&2
  (cd "$work/src" && apt-get "${apt_opts[@]}" -qq source --download-only python3.13) >&2
  local orig
  orig="$(ls "$work"/src/python3.13_*.orig.tar.xz | head -n1)"
  tar -xJf "$orig" -C "$work"
  local srcdir
  srcdir="$(find "$work" -maxdepth 1 -type d -name 'Python-3.13*' | head -n1)"
  bt_log "free-threaded CPython: building $(basename "$srcdir") with --disable-gil into $BT_CPYTHON_FT" >&2
  (
    cd "$srcdir"
    ./configure -q --prefix="$BT_CPYTHON_FT" --disable-gil --enable-shared \
      LDFLAGS="-Wl,-rpath,$BT_CPYTHON_FT/lib" >/dev/null
    make -s -j"$(nproc)" >/dev/null 2>"$work/make.log" || { tail -40 "$work/make.log"; exit 1; }
    make -s install >/dev/null 2>>"$work/make.log"
  ) >&2
  rm -rf "$work"
  bt_cpython_ft_ok || { echo "the free-threaded CPython build in $BT_CPYTHON_FT does not work" >&2; return 1; }
  printf '%s\n' "$BT_CPYTHON_FT/bin/python3.13t"
}
