# shellcheck shell=bash
# An OpenTelemetry Collector with the OTLP receiver and the OTLP/HTTP exporter
# (tests/otel/otelcol-builder.yaml), built once with the collector's builder
# from the Go module proxy and cached outside the clone, because the build
# takes minutes. Sourced by scripts/lib/common.sh; bt_ensure_otelcol prints
# the path of the binary, building it first when it is missing.

BT_CACHE="${BT_CACHE:-/var/cache/boundarytrace}"
BT_OTELCOL_VERSION=0.165.0
BT_OTELCOL_DIR="$BT_CACHE/otelcol-$BT_OTELCOL_VERSION"

bt_ensure_otelcol() {
  local bin="$BT_OTELCOL_DIR/otelcol-bt"
  if [ -x "$bin" ] && "$bin" components >/dev/null 2>&1; then
    printf '%s\n' "$bin"
    return 0
  fi
  # The machine's Go (the collector needs a recent one; Debian 12's 1.19 is
  # too old), also when only /usr/local/go/bin holds it.
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || { echo "the OpenTelemetry Collector build needs Go (1.24 or newer)" >&2; return 1; }
  # The module and build caches stay beside the binary, so a rebuild (a new
  # version) downloads only what changed.
  export GOPATH="$BT_CACHE/go" GOCACHE="$BT_CACHE/go-build" GOFLAGS=-mod=mod
  local builder="$GOPATH/bin/builder"
  if [ ! -x "$builder" ]; then
    bt_log "OpenTelemetry Collector: installing its builder v$BT_OTELCOL_VERSION" >&2
    go install "go.opentelemetry.io/collector/cmd/builder@v$BT_OTELCOL_VERSION" >&2
  fi
  bt_log "OpenTelemetry Collector: building otelcol-bt v$BT_OTELCOL_VERSION into $BT_OTELCOL_DIR (minutes, once)" >&2
  mkdir -p "$BT_OTELCOL_DIR"
  sed "s#OUTPUT_PATH#$BT_OTELCOL_DIR#" "$BT_ROOT/tests/otel/otelcol-builder.yaml" > "$BT_OTELCOL_DIR/builder.yaml"
  "$builder" --config="$BT_OTELCOL_DIR/builder.yaml" >&2
  "$bin" components >/dev/null || { echo "the collector in $BT_OTELCOL_DIR does not run" >&2; return 1; }
  printf '%s\n' "$bin"
}
