package dev.boundarytrace;

import java.nio.file.Path;

/**
 * The timeline: the bounded ring of individual operations, process-wide, exported
 * as Chrome Trace Event JSON (opens in Perfetto UI and chrome://tracing).
 */
public final class Timeline {
  private Timeline() {}

  /** Largest capacity {@link #start(long)} accepts. */
  public static final long MAX_CAPACITY = BtNativeConstants.BT_TIMELINE_MAX_CAPACITY;

  /**
   * Starts keeping the operations that finish from now on, in a ring of
   * {@code capacity} (the oldest dropped and counted). Starting again empties it.
   *
   * @throws IllegalArgumentException BT_E_INVALID (capacity 0 or above MAX_CAPACITY)
   */
  public static void start(long capacity) {
    if (capacity < 0) {
      throw Native.invalid("bt_timeline_start", "capacity must not be negative: " + capacity);
    }
    BtNative.bt_timeline_start(capacity);
  }

  /** Stops keeping operations; those kept stay for export. */
  public static void stop() {
    BtNative.bt_timeline_stop();
  }

  /** Capacity, kept, dropped, and whether operations are being kept. */
  public static TimelineInfo info() {
    bt_timeline_info raw = new bt_timeline_info();
    try {
      BtNative.bt_timeline_get_info(raw);
      return new TimelineInfo(raw.getCapacity(), raw.getKept(), raw.getDropped(), raw.getActive() != 0);
    } finally {
      raw.delete();
    }
  }

  /** The kept operations as Chrome Trace Event JSON. */
  public static String export() {
    String[] out = new String[1];
    BtNative.bt_timeline_export(out);
    return out[0];
  }

  /**
   * The flight recorder of process {@code pid} in the shared directory {@code dir},
   * as {@link #export()}'s JSON (bt_timeline_export_shared): while the timeline is
   * on, a process recording into a shared sink keeps its last 1024 operations in
   * its slot file, where they outlive the process.
   *
   * @throws IllegalArgumentException BT_E_INVALID (an empty path, pid &lt;= 0),
   *     BT_E_NOT_FOUND (no recorder of that pid)
   * @throws java.io.UncheckedIOException BT_E_IO, its message naming the directory and why
   */
  public static String exportShared(Path dir, long pid) {
    return exportShared(dir.toString(), pid);
  }

  /** {@link #exportShared(Path, long)} with the directory as a string. */
  public static String exportShared(String dir, long pid) {
    String[] out = new String[1];
    BtNative.bt_timeline_export_shared(out, dir, pid);
    return out[0];
  }

  /**
   * Writes the JSON to {@code path} atomically.
   *
   * @throws java.io.UncheckedIOException BT_E_IO
   */
  public static void write(Path path) {
    BtNative.bt_timeline_write(path.toString());
  }
}
