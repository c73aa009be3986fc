package dev.boundarytrace;

import java.nio.file.Path;

/** The formats a snapshot renders to (docs/formats.md). */
public enum Format {
  /** The human report. */
  TEXT(BtNativeConstants.BT_FORMAT_TEXT),
  /** Versioned JSON with histogram buckets (schema boundarytrace.snapshot). */
  JSON(BtNativeConstants.BT_FORMAT_JSON),
  /** Prometheus text exposition 0.0.4. */
  PROMETHEUS(BtNativeConstants.BT_FORMAT_PROMETHEUS),
  /** OpenMetrics 1.0 text, ending with "# EOF". */
  OPENMETRICS(BtNativeConstants.BT_FORMAT_OPENMETRICS),
  /** Folded stacks "op;phase nanoseconds" for flame graphs. */
  FOLDED(BtNativeConstants.BT_FORMAT_FOLDED);

  private final int code;

  Format(int code) {
    this.code = code;
  }

  /** The bt_format value. */
  public int code() {
    return code;
  }

  /** The format a file name asks for by its suffix (.json, .prom, .om, .folded, else text). */
  public static Format forPath(Path path) {
    int[] out = new int[1];
    BtNative.bt_format_for_path(out, path.toString());
    for (Format f : values()) {
      if (f.code == out[0]) return f;
    }
    return TEXT;
  }
}
