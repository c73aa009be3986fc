package dev.boundarytrace;

import java.lang.ref.Cleaner;

/**
 * Loads the JNI library; shapes the messages of the Java layer's own checks.
 *
 * <p>The library is {@code libboundarytrace_jni.so}: found on {@code java.library.path},
 * or loaded from the absolute path in the system property {@code boundarytrace.jni.library}
 * (or the environment variable {@code BOUNDARYTRACE_JNI_LIBRARY}).
 */
final class Native {
  /** Frees native handles whose Java objects were dropped without close(). */
  static final Cleaner CLEANER = Cleaner.create();

  private static boolean loaded;

  private Native() {}

  static synchronized void load() {
    if (loaded) return;
    String path = System.getProperty("boundarytrace.jni.library");
    if (path == null || path.isEmpty()) path = System.getenv("BOUNDARYTRACE_JNI_LIBRARY");
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      System.loadLibrary("boundarytrace_jni");
    }
    loaded = true;
  }

  /**
   * The message of a failed status, shaped as every binding shapes it (docs/api.md):
   * "NAME: sentence (in call: detail)", the name and sentence from the library.
   */
  static String message(int status, String call, String detail) {
    return BtNative.bt_status_name(status) + ": " + BtNative.bt_status_str(status) + " (in " + call
        + (detail == null ? "" : ": " + detail) + ")";
  }

  /** An argument the Java layer refuses before {@code call} sees it: BT_E_INVALID. */
  static IllegalArgumentException invalid(String call, String detail) {
    return new IllegalArgumentException(message(-2 /* BT_E_INVALID */, call, detail));
  }
}
