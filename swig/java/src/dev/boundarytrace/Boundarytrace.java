package dev.boundarytrace;

/**
 * The library as a whole: version, the run-time switch, the clock.
 *
 * <p>Errors of every call in this package are Java exceptions whose message starts
 * with the C status name, e.g. {@code "BT_E_NAME: name is empty, … (in bt_tracer_new)"}:
 * IllegalArgumentException for bad arguments (BT_E_NULL, INVALID, NAME, UNKNOWN_PHASE,
 * STRUCT_SIZE, CONFLICT, NOT_FOUND), IllegalStateException for a wrong state
 * (BT_E_PHASE_OPEN, PHASE_NOT_OPEN, FINISHED, FULL, INTERNAL, and closed objects),
 * OutOfMemoryError for BT_E_NOMEM, java.io.UncheckedIOException for BT_E_IO.
 */
public final class Boundarytrace {
  private Boundarytrace() {}

  /** The version this jar was generated for, e.g. "0.1.0". */
  public static final String BUILD_VERSION = BtNativeConstants.BT_VERSION_STRING;

  /** Run-time version of the loaded C library, MAJOR*10000 + MINOR*100 + PATCH. */
  public static int version() {
    return (int) BtNative.bt_version();
  }

  /** Run-time version string of the loaded C library. */
  public static String versionString() {
    return BtNative.bt_version_string();
  }

  /** Switches recording on or off for the whole process. */
  public static void setEnabled(boolean enabled) {
    BtNative.bt_set_enabled(enabled ? 1 : 0);
  }

  /** Whether recording is on. */
  public static boolean isEnabled() {
    return BtNative.bt_is_enabled() != 0;
  }

  /** The library's monotonic clock, nanoseconds. */
  public static long clockNowNs() {
    return BtNative.bt_clock_now_ns();
  }

  /** "tsc" or "monotonic". */
  public static String clockSource() {
    return BtNative.bt_clock_source();
  }

  /** The name of a status code, e.g. "BT_E_NAME". */
  public static String statusName(int status) {
    return BtNative.bt_status_name(status);
  }

  /** The sentence of a status code. */
  public static String statusMessage(int status) {
    return BtNative.bt_status_str(status);
  }
}
