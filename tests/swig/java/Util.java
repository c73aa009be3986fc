package dev.boundarytrace.tests;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Boundarytrace;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.function.Executable;

final class Util {
  private static final AtomicInteger SEQ = new AtomicInteger();

  private Util() {}

  /** A name no other test uses (the phase table and the global sink are process-wide). */
  static String unique(String base) {
    return "java_" + base + "_" + SEQ.incrementAndGet();
  }

  /** Busy-waits at least {@code ns} nanoseconds (sleep is too coarse). */
  static void spin(long ns) {
    long end = System.nanoTime() + ns;
    while (System.nanoTime() < end) Thread.onSpinWait();
  }

  /** A fresh directory for files a test writes. */
  static Path tmpdir(String name) throws Exception {
    String base = System.getProperty("bt.test.tmpdir", System.getProperty("java.io.tmpdir"));
    Path dir = Path.of(base, "out", name);
    Files.createDirectories(dir);
    return dir;
  }

  /** Runs {@code body}, expects {@code type}, and checks the message names the status. */
  static <T extends Throwable> T expectStatus(Class<T> type, String status, Executable body) {
    T e = assertThrows(type, body);
    String msg = e.getMessage();
    assertTrue(msg != null && msg.startsWith(status + ": "),
        "message should start with " + status + ": " + msg);
    return e;
  }

  /** The status sentence the C library gives for a code, for exact messages. */
  static String sentence(int status) {
    return Boundarytrace.statusMessage(status);
  }
}
