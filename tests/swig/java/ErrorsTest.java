package dev.boundarytrace.tests;

import static dev.boundarytrace.tests.Util.expectStatus;
import static dev.boundarytrace.tests.Util.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Format;
import dev.boundarytrace.Metrics;
import dev.boundarytrace.Phase;
import dev.boundarytrace.Snapshot;
import dev.boundarytrace.Timing;
import dev.boundarytrace.Timeline;
import dev.boundarytrace.Tracer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Bad input raises the Java exception of its status, named in the message. */
class ErrorsTest {
  @Test
  void messageIsNameSentenceAndCall() {
    try (Tracer t = new Tracer(unique("msg"))) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.begin(99));
      assertEquals("BT_E_UNKNOWN_PHASE: " + Util.sentence(-4) + " (in bt_phase_begin)", e.getMessage());
    }
  }

  @Test
  void unknownPhase() {
    try (Tracer t = new Tracer(unique("unknown_phase"))) {
      expectStatus(IllegalArgumentException.class, "BT_E_UNKNOWN_PHASE", () -> t.begin(99));
      expectStatus(IllegalArgumentException.class, "BT_E_UNKNOWN_PHASE", () -> t.begin(-5));
      expectStatus(IllegalArgumentException.class, "BT_E_UNKNOWN_PHASE", () -> t.end(Phase.MAX_PHASES));
    }
    expectStatus(IllegalArgumentException.class, "BT_E_UNKNOWN_PHASE", () -> Phase.name(99));
    expectStatus(IllegalArgumentException.class, "BT_E_NOT_FOUND",
        () -> Phase.lookup(unique("never_registered")));
    try (Tracer t = new Tracer(unique("unknown_phase_name"))) {
      expectStatus(IllegalArgumentException.class, "BT_E_NOT_FOUND", () -> t.phase("no such phase"));
    }
  }

  @Test
  void endWithoutBeginAndBeginTwice() {
    try (Tracer t = new Tracer(unique("phase_state"))) {
      expectStatus(IllegalStateException.class, "BT_E_PHASE_NOT_OPEN", () -> t.end(Phase.EXTRACT));
      t.begin(Phase.EXTRACT);
      expectStatus(IllegalStateException.class, "BT_E_PHASE_OPEN", () -> t.begin(Phase.CONVERT));
      expectStatus(IllegalStateException.class, "BT_E_PHASE_NOT_OPEN", () -> t.end(Phase.CONVERT));
      t.end(Phase.EXTRACT);
    }
  }

  @Test
  void useAfterFinish() {
    Tracer t = new Tracer(unique("after_finish"));
    t.finish();
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", t::finish);
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", () -> t.begin(Phase.EXTRACT));
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", () -> t.addItems(1));
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", t::addGilRelease);
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", () -> t.addGilWait(1));
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", () -> t.setWorkers(2));
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", t::setError);
    t.close(); // finished: close only frees
    IllegalStateException closed = assertThrows(IllegalStateException.class, () -> t.begin(0));
    assertEquals("Tracer is closed", closed.getMessage());
  }

  @Test
  void phaseClosedAfterItsTracerFinished() {
    Tracer t = new Tracer(unique("phase_after_finish"));
    Phase p = t.phase(Phase.EXTRACT);
    t.finish();
    expectStatus(IllegalStateException.class, "BT_E_FINISHED", p::close);
    p.close(); // a second close does nothing
    t.close();
  }

  @Test
  void badNames() {
    String tooLong = "x".repeat(256);
    for (String bad : new String[] {"", "tab\there", "new\nline", tooLong, "nul\0inside"}) {
      expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> new Tracer(bad));
      expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> Phase.register(bad, true));
    }
    new Tracer("x".repeat(255)).close(); // the longest name is fine
    try (Metrics m = Metrics.create()) {
      expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> m.op(""));
      expectStatus(IllegalArgumentException.class, "BT_E_NAME",
          () -> m.record(Timing.builder("").totalNs(1).build()));
      expectStatus(IllegalArgumentException.class, "BT_E_NULL",
          () -> m.record(Timing.builder(null).totalNs(1).build()));
      try (Snapshot s = m.snapshot()) {
        expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> s.stats(""));
        expectStatus(IllegalArgumentException.class, "BT_E_NOT_FOUND", () -> s.stats("absent"));
      }
    }
  }

  /**
   * A String that is not well-formed UTF-16 has no UTF-8 form: String.getBytes would
   * record "lone-?" for "lone-\uD800". Every name is refused with BT_E_NAME instead,
   * and nothing is recorded.
   */
  @Test
  void loneSurrogateNamesAreRefused() {
    String prefix = unique("lone");
    String[] bad = {
      prefix + "-\uD800", prefix + "-\uDC00x", "\uDBFF" + prefix, prefix + "\uDE80\uD83D"
    };
    try (Metrics m = Metrics.create()) {
      for (String name : bad) {
        IllegalArgumentException e = expectStatus(IllegalArgumentException.class, "BT_E_NAME",
            () -> new Tracer(m, name));
        assertTrue(e.getMessage().startsWith("BT_E_NAME: " + Util.sentence(-3) + " (in bt_tracer_new: "),
            e.getMessage());
        assertTrue(e.getMessage().endsWith(")"), e.getMessage());
        expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> Phase.register(name, true));
        expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> Phase.register(name, false));
        expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> Phase.lookup(name));
        expectStatus(IllegalArgumentException.class, "BT_E_NAME", () -> m.op(name));
        expectStatus(IllegalArgumentException.class, "BT_E_NAME",
            () -> m.record(Timing.builder(name).totalNs(1).build()));
      }
      String pair = prefix + "-\uD83D\uDE80"; // a surrogate pair is one character: fine
      new Tracer(m, pair).close();
      try (Snapshot s = m.snapshot()) {
        assertEquals(java.util.List.of(pair), s.operations(), "only the well-formed name recorded");
      }
    }
  }

  /** The checks of the Java layer read like the library's: "NAME: sentence (in call: detail)". */
  @Test
  void javaSideChecksHaveTheMessageShape() {
    String invalid = "BT_E_INVALID: " + Util.sentence(-2) + " (in ";
    try (Metrics m = Metrics.create(); Tracer t = new Tracer(m, unique("shape"))) {
      assertEquals(invalid + "bt_tracer_add_items: n must not be negative: -1)",
          assertThrows(IllegalArgumentException.class, () -> t.addItems(-1)).getMessage());
      assertEquals(invalid + "bt_tracer_add_gil_wait: ns must not be negative: -5)",
          assertThrows(IllegalArgumentException.class, () -> t.addGilWait(-5)).getMessage());
      assertEquals(invalid + "bt_tracer_set_workers: workers must not be negative: -2)",
          assertThrows(IllegalArgumentException.class, () -> t.setWorkers(-2)).getMessage());
      assertEquals(invalid + "bt_timeline_start: capacity must not be negative: -1)",
          assertThrows(IllegalArgumentException.class, () -> Timeline.start(-1)).getMessage());
      assertEquals(invalid + "bt_metrics_record: total_ns must not be negative: -1)",
          assertThrows(IllegalArgumentException.class, () -> Timing.builder("x").totalNs(-1)).getMessage());
      assertEquals("BT_E_UNKNOWN_PHASE: " + Util.sentence(-4) + " (in bt_metrics_record: phase id 99)",
          assertThrows(IllegalArgumentException.class, () -> Timing.builder("x").phase(99, 1)).getMessage());
      assertEquals("BT_E_NAME: " + Util.sentence(-3)
              + " (in bt_tracer_new: the string holds a NUL character)",
          assertThrows(IllegalArgumentException.class, () -> new Tracer(m, "nul\0inside")).getMessage());
    }
  }

  @Test
  void badValues() {
    String op = unique("bad_values");
    try (Metrics m = Metrics.create()) {
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID",
          () -> m.record(Timing.builder(op).totalNs(10).phase(Phase.EXTRACT, 100).build()));
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Timing.builder(op).totalNs(-1));
      m.record(Timing.builder(op).totalNs(10).build());
      try (Snapshot s = m.snapshot()) {
        assertEquals(1, s.stats(op).count(), "the invalid record recorded nothing");
        expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> s.quantile(op, Phase.TOTAL, 1.5));
        expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> s.quantile(op, Phase.TOTAL, Double.NaN));
        expectStatus(IllegalArgumentException.class, "BT_E_UNKNOWN_PHASE", () -> s.phase(op, 77));
      }
      try (Tracer t = new Tracer(m, op)) {
        expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> t.addItems(-1));
      }
    }
    expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Timeline.start(0));
    expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> Timeline.start(Timeline.MAX_CAPACITY + 1));
  }

  @Test
  void closedObjectsThrowIllegalState() {
    Metrics m = Metrics.create();
    Snapshot s = m.snapshot();
    s.close();
    s.close(); // idempotent
    assertThrows(IllegalStateException.class, s::size);
    assertThrows(IllegalStateException.class, () -> s.export(Format.JSON));
    assertEquals("Snapshot[closed]", s.toString());
    var op = m.op(unique("closed_op"));
    m.close();
    m.close();
    assertThrows(IllegalStateException.class, m::snapshot);
    assertThrows(IllegalStateException.class, m::reset);
    assertThrows(IllegalStateException.class, () -> m.record(Timing.builder("x").totalNs(1).build()));
    assertThrows(IllegalStateException.class, () -> new Tracer(m, "x"));
    assertThrows(IllegalStateException.class, op::tracer);
    assertThrows(IllegalStateException.class, op::name);
  }

  @Test
  void ioFailureIsUncheckedIOException() {
    try (Metrics m = Metrics.create(); Snapshot s = m.snapshot()) {
      Path missing = Path.of("/nonexistent-dir-of-boundarytrace/x.json");
      UncheckedIOException e = expectStatus(UncheckedIOException.class, "BT_E_IO",
          () -> s.write(Format.JSON, missing));
      assertTrue(e.getCause() instanceof IOException);
      assertTrue(e.getMessage().contains("No such file or directory"), e.getMessage());
      expectStatus(UncheckedIOException.class, "BT_E_IO", () -> Timeline.write(missing));
      expectStatus(IllegalArgumentException.class, "BT_E_INVALID", () -> s.write(Format.JSON, Path.of("")));
    }
  }
}
