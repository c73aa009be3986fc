package dev.boundarytrace;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Loads the JNI library and converts strings for the generated layer.
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

  /** A name as NUL-terminated UTF-8 (JNI's own strings are modified UTF-8). */
  static byte[] cstr(String s) {
    return utf8z(s, -3 /* BT_E_NAME */);
  }

  /** A path as NUL-terminated UTF-8. */
  static byte[] cpath(String s) {
    return utf8z(s, -2 /* BT_E_INVALID */);
  }

  private static byte[] utf8z(String s, int status) {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0) {
      throw new IllegalArgumentException(
          BtNative.bt_status_name(status) + ": " + BtNative.bt_status_str(status)
              + " (a Java string holding a NUL character)");
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return Arrays.copyOf(b, b.length + 1);
  }

  /** UTF-8 bytes from C as a String (null stays null). */
  static String str(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  /** The argument check of the Java layer: the same message shape as the C statuses. */
  static IllegalArgumentException invalid(String what) {
    return new IllegalArgumentException(
        BtNative.bt_status_name(-2) + ": " + BtNative.bt_status_str(-2) + " (" + what + ")");
  }
}
