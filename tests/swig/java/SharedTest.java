package dev.boundarytrace.tests;

import static dev.boundarytrace.tests.Util.expectStatus;
import static dev.boundarytrace.tests.Util.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Metrics;
import dev.boundarytrace.Snapshot;
import dev.boundarytrace.SnapshotInfo;
import dev.boundarytrace.Timeline;
import dev.boundarytrace.Timing;
import dev.boundarytrace.Tracer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Many processes, one picture: a sink shared through a directory (Metrics.openShared),
 * the directory merged (Snapshot.readShared), the flight recorder, and the errors
 * of each. Two sinks in one process are two slots, as two processes would be.
 */
class SharedTest {
  /** A fresh directory (mkdtemp: mode 0700) for one test. */
  private static Path fresh(String name) throws Exception {
    return Files.createTempDirectory(Util.tmpdir("shared"), name + "-");
  }

  private static void record(Metrics m, String op, long ns, int times) {
    Timing t = Timing.builder(op).totalNs(ns).build();
    for (int i = 0; i < times; i++) m.record(t);
  }

  @Test
  void openRecordAndReadShared() throws Exception {
    Path dir = fresh("sink").resolve("shared"); // missing: created with mode 0700
    String op = unique("shared");
    try (Metrics m = Metrics.openShared(dir)) {
      assertEquals(dir.toString(), m.sharedDir());
      assertFalse(m.isGlobal());
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
      record(m, op, 1000, 3);
      try (Snapshot s = Snapshot.readShared(dir)) {
        assertEquals(3, s.stats(op).count(), "readShared gives the count");
        assertEquals(3000, s.total(op).sumNs());
        SnapshotInfo info = s.info();
        assertEquals(1, info.processes());
        assertEquals(0, info.dropped());
        assertEquals(0, info.skipped());
        assertEquals(List.of(), s.skipped());
      }
      try (Snapshot s = Snapshot.readShared(dir.toString())) {
        assertEquals(3, s.stats(op).count(), "readShared(String) is the same");
      }
      try (Snapshot own = m.snapshot()) {
        assertEquals(3, own.stats(op).count(), "the sink's own snapshot merges the directory");
        assertEquals(1, own.info().processes());
      }
    }
    try (Metrics p = Metrics.create(); Snapshot s = p.snapshot()) {
      assertNull(p.sharedDir());
      SnapshotInfo info = s.info();
      assertEquals(List.of(0L, 0, 0), List.of(info.dropped(), info.processes(), info.skipped()),
          "a private snapshot: dropped, processes, skipped are 0");
    }
  }

  @Test
  void twoSinksAreTwoSlotsAndTheFlightRecorderKeepsOperations() throws Exception {
    Path dir = fresh("two");
    String op = unique("two_slots");
    String traced = unique("flight");
    long pid = ProcessHandle.current().pid();
    Timeline.start(64);
    try (Metrics first = Metrics.openShared(dir.toString());
        Metrics second = Metrics.openShared(dir.toString())) {
      record(first, op, 10, 3);
      record(second, op, 10, 2);
      try (Tracer t = new Tracer(first, traced)) {
        t.addItems(7);
      }
      try (Snapshot s = Snapshot.readShared(dir)) {
        assertEquals(5, s.stats(op).count(), "the second sink adds its counts");
        assertEquals(1, s.stats(traced).count());
        assertEquals(2, s.info().processes(), "two sinks in one process: two slots");
      }
      String json = Timeline.exportShared(dir, pid);
      Map<String, Object> root = Json.obj(Json.parse(json));
      int found = 0;
      for (Object e : Json.arr(root.get("traceEvents"))) {
        Map<String, Object> ev = Json.obj(e);
        if ("operation".equals(ev.get("cat")) && traced.equals(ev.get("name"))) {
          assertEquals(7L, ((Number) Json.obj(ev.get("args")).get("items")).longValue());
          found++;
        }
      }
      assertEquals(1, found, "the flight recorder holds the operation: " + json);
      assertTrue(Timeline.exportShared(dir.toString(), pid).contains(traced), "exportShared(String)");
    } finally {
      Timeline.stop();
    }
  }

  @Test
  void takeAndResetAreRefused() throws Exception {
    Path dir = fresh("take");
    String op = unique("refused");
    try (Metrics m = Metrics.openShared(dir)) {
      record(m, op, 1, 1);
      String why = ": this sink is shared through the directory " + dir
          + ": its figures belong to every process writing there; read them with snapshot())";
      IllegalArgumentException e = expectStatus(IllegalArgumentException.class, "BT_E_INVALID", m::take);
      assertEquals("BT_E_INVALID: " + Util.sentence(-2) + " (in bt_metrics_take" + why, e.getMessage());
      e = expectStatus(IllegalArgumentException.class, "BT_E_INVALID", m::reset);
      assertEquals("BT_E_INVALID: " + Util.sentence(-2) + " (in bt_metrics_reset" + why, e.getMessage());
      try (Snapshot s = m.snapshot()) {
        assertEquals(1, s.stats(op).count(), "the counts are untouched");
      }
    }
  }

  @Test
  void aDirectoryOthersMayWriteIntoIsRefused() throws Exception {
    Path open = fresh("unsafe").resolve("open");
    Files.createDirectory(open);
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    String rule = ": Permission denied; a shared directory must be your own and not writable by group"
        + " or others, and this one is mode 0777)";
    UncheckedIOException e = expectStatus(UncheckedIOException.class, "BT_E_IO",
        () -> Metrics.openShared(open));
    assertTrue(e.getCause() instanceof IOException);
    assertEquals("BT_E_IO: " + Util.sentence(-14) + " (in bt_metrics_open_shared: " + open + rule,
        e.getMessage());
    e = expectStatus(UncheckedIOException.class, "BT_E_IO", () -> Snapshot.readShared(open));
    assertEquals("BT_E_IO: " + Util.sentence(-14) + " (in bt_snapshot_read_shared: " + open + rule,
        e.getMessage());
    e = expectStatus(UncheckedIOException.class, "BT_E_IO",
        () -> Timeline.exportShared(open, ProcessHandle.current().pid()));
    assertEquals("BT_E_IO: " + Util.sentence(-14) + " (in bt_timeline_export_shared: " + open + rule,
        e.getMessage());
    Path missing = fresh("missing").resolve("none");
    e = expectStatus(UncheckedIOException.class, "BT_E_IO", () -> Snapshot.readShared(missing));
    assertEquals("BT_E_IO: " + Util.sentence(-14) + " (in bt_snapshot_read_shared: " + missing
        + ": No such file or directory)", e.getMessage());
  }

  @Test
  void badArguments() throws Exception {
    Path dir = fresh("args");
    try (Metrics m = Metrics.openShared(dir)) {
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Metrics.openShared(""));
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Metrics.openShared(Path.of("")));
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Snapshot.readShared(""));
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Timeline.exportShared("", 1));
      expectStatus(IllegalArgumentException.class, "BT_E_NULL", () -> Metrics.openShared((String) null));
      IllegalArgumentException e = expectStatus(IllegalArgumentException.class, "BT_E_INVALID",
          () -> Snapshot.readShared(dir + "\0x"));
      assertTrue(e.getMessage().endsWith("(in bt_snapshot_read_shared: the path holds a NUL character)"),
          e.getMessage());
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Timeline.exportShared(dir, 0));
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Timeline.exportShared(dir, -1));
      // A process that never wrote there: the test runner's parent.
      long other = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);
      e = expectStatus(IllegalArgumentException.class, "BT_E_NOT_FOUND", () -> Timeline.exportShared(dir, other));
      assertEquals("BT_E_NOT_FOUND: " + Util.sentence(-12) + " (in bt_timeline_export_shared)", e.getMessage());
    }
  }

  @Test
  void skippedFilesArePathAndReason() throws Exception {
    Path dir = fresh("skipped");
    String op = unique("beside_garbage");
    try (Metrics m = Metrics.openShared(dir)) {
      record(m, op, 5, 1);
      Path bad = dir.resolve("slot-99.bt");
      Files.writeString(bad, "not a slot at all".repeat(8), StandardCharsets.UTF_8);
      try (Snapshot s = Snapshot.readShared(dir)) {
        assertEquals(1, s.stats(op).count(), "the good slot is merged");
        assertEquals(1, s.info().skipped());
        List<Snapshot.Skipped> skipped = s.skipped();
        assertEquals(1, skipped.size());
        assertEquals(bad.toString(), skipped.get(0).path());
        assertFalse(skipped.get(0).reason().isBlank(), skipped.toString());
      }
    }
  }
}
