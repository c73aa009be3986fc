package dev.boundarytrace.tests;

import static dev.boundarytrace.tests.Util.spin;
import static dev.boundarytrace.tests.Util.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Boundarytrace;
import dev.boundarytrace.Metrics;
import dev.boundarytrace.Op;
import dev.boundarytrace.OpStats;
import dev.boundarytrace.Phase;
import dev.boundarytrace.PhaseStats;
import dev.boundarytrace.Snapshot;
import dev.boundarytrace.Timing;
import dev.boundarytrace.Tracer;
import org.junit.jupiter.api.Test;

/** Tracers: the four-phase operation, registered phases, counters, lifetimes. */
class TracerTest {
  private static final long SPIN = 200_000; // 0.2 ms per phase

  @Test
  void fourPhaseOperationTimesEachPhaseAndAddsUp() {
    String op = unique("four_phase");
    try (Metrics m = Metrics.create()) {
      Timing t;
      try (Tracer tr = new Tracer(m, op)) {
        spin(20_000); // boundary overhead before the first phase
        try (Phase p = tr.phase(Phase.EXTRACT)) {
          spin(SPIN);
        }
        tr.addGilRelease();
        try (Phase p = tr.phase(Phase.CONVERT)) {
          spin(SPIN);
        }
        tr.setWorkers(4);
        try (Phase p = tr.phase(Phase.NETWORK)) {
          spin(SPIN);
        }
        tr.addGilWait(1234);
        try (Phase p = tr.phase(Phase.MATERIALIZE)) {
          spin(SPIN);
        }
        tr.addItems(100).addItems(11);
        t = tr.finish();
        assertTrue(tr.isFinished());
      }
      assertEquals(op, t.operation());
      long sum = 0;
      for (int id = Phase.EXTRACT; id <= Phase.MATERIALIZE; id++) {
        assertEquals(1, t.phaseEntries(id), "entries of phase " + id);
        assertTrue(t.phaseNs(id) >= SPIN * 3 / 4, "phase " + id + " took " + t.phaseNs(id) + " ns");
        sum += t.phaseNs(id);
      }
      assertTrue(t.totalNs() >= sum, "total " + t.totalNs() + " >= phases " + sum);
      // the GIL wait (1234 ns) falls between phases: not unattributed
      assertEquals(Math.max(0, t.totalNs() - sum - 1234), t.unattributedNs());
      assertTrue(t.totalNs() - sum > 0);
      assertEquals(t.phaseNs(Phase.EXTRACT) + t.phaseNs(Phase.MATERIALIZE), t.gilHeldNs());
      assertEquals(t.phaseNs(Phase.CONVERT) + t.phaseNs(Phase.NETWORK), t.gilReleasedNs());
      assertEquals(1234, t.gilWaitNs());
      assertEquals(111, t.items());
      assertEquals(1, t.gilReleases());
      assertEquals(4, t.workers());
      assertFalse(t.isError());
      assertFalse(t.phaseLeftOpen());
      assertEquals(4, t.phases().size());
      assertTrue(t.format().startsWith(op + ": 111 items"), t.format());

      try (Snapshot s = m.snapshot()) {
        OpStats st = s.stats(op);
        assertEquals(1, st.count());
        assertEquals(111, st.items());
        assertEquals(t.totalNs(), st.totalNs());
        assertEquals(t.gilHeldNs(), st.gilHeldNs());
        assertEquals(t.gilReleasedNs(), st.gilReleasedNs());
        assertEquals(1234, st.gilWaitNs());
        assertEquals(1, st.gilReleases());
        assertEquals(1, st.parallelOps());
        assertEquals(4, st.workersMax());
        for (int id = Phase.EXTRACT; id <= Phase.MATERIALIZE; id++) {
          PhaseStats ps = s.phase(op, id);
          assertEquals(1, ps.count());
          assertEquals(1, ps.entries());
          assertEquals(t.phaseNs(id), ps.sumNs());
          assertEquals(t.phaseNs(id), ps.minNs());
          assertEquals(t.phaseNs(id), ps.maxNs());
          assertEquals(Phase.name(id), ps.name());
          assertEquals(Phase.isGilHeld(id) ? 1 : 0, ps.gilHeld());
        }
        assertEquals(t.totalNs(), s.total(op).sumNs());
        assertTrue(s.total(op).isTotal());
      }
    }
  }

  @Test
  void reenteredPhaseAccumulatesAndCountsEntries() {
    String op = unique("reentered");
    try (Metrics m = Metrics.create()) {
      Timing t;
      try (Tracer tr = new Tracer(m, op)) {
        for (int batch = 0; batch < 3; batch++) {
          try (Phase p = tr.phase(Phase.CONVERT)) {
            spin(10_000);
          }
          try (Phase p = tr.phase(Phase.NETWORK)) {
            spin(10_000);
          }
        }
        t = tr.finish();
      }
      assertEquals(3, t.phaseEntries(Phase.CONVERT));
      assertEquals(3, t.phaseEntries(Phase.NETWORK));
      assertEquals(0, t.phaseEntries(Phase.EXTRACT));
      try (Snapshot s = m.snapshot()) {
        assertEquals(3, s.phase(op, Phase.CONVERT).entries());
        assertEquals(1, s.phase(op, Phase.CONVERT).count());
        assertEquals(0, s.phase(op, Phase.EXTRACT).count());
      }
    }
  }

  @Test
  void registeredPhaseByNameAndById() {
    String name = unique("compress");
    int id = Phase.register(name, false);
    assertTrue(id >= 4 && id < Phase.MAX_PHASES, "id " + id);
    assertEquals(id, Phase.register(name, false), "same name, same id");
    assertEquals(id, Phase.lookup(name));
    assertEquals(name, Phase.name(id));
    assertFalse(Phase.isGilHeld(id));
    assertTrue(Phase.count() > id);
    Util.expectStatus(IllegalArgumentException.class, "BT_E_CONFLICT",
        () -> Phase.register(name, true));

    String op = unique("with_registered");
    try (Metrics m = Metrics.create()) {
      Timing t;
      try (Tracer tr = new Tracer(m, op)) {
        try (Phase p = tr.phase(name)) {
          assertEquals(id, p.id());
          assertEquals(name, p.name());
          spin(50_000);
        }
        try (Phase p = tr.phase(id)) {
          spin(50_000);
        }
        try (Phase p = tr.phase("extract")) { // built-in phases by name too
          spin(10_000);
        }
        t = tr.finish();
      }
      assertEquals(2, t.phaseEntries(id));
      assertEquals(2, t.phaseEntries(name));
      assertTrue(t.phaseNs(id) >= 75_000);
      assertEquals(t.phaseNs(id), t.gilReleasedNs(), "a released phase counts as released");
      assertEquals(t.phaseNs(Phase.EXTRACT), t.gilHeldNs());
      assertTrue(t.phases().containsKey(name));
      try (Snapshot s = m.snapshot()) {
        PhaseStats ps = s.phase(op, name);
        assertEquals(name, ps.name());
        assertEquals(id, ps.phase());
        assertEquals(0, ps.gilHeld());
        assertEquals(1, ps.count());
        assertEquals(2, ps.entries());
        assertEquals(t.phaseNs(id), ps.sumNs());
      }
    }
  }

  @Test
  void tryWithResourcesFinishesAndRecords() {
    String op = unique("twr");
    try (Metrics m = Metrics.create()) {
      try (Tracer tr = new Tracer(m, op)) {
        tr.addItems(3);
      }
      Tracer tr = new Tracer(m, op);
      tr.close();
      tr.close(); // idempotent
      assertTrue(tr.isFinished());
      try (Snapshot s = m.snapshot()) {
        assertEquals(2, s.stats(op).count());
        assertEquals(3, s.stats(op).items());
      }
    }
  }

  @Test
  void finishClosesAPhaseLeftOpen() {
    String op = unique("left_open");
    try (Metrics m = Metrics.create()) {
      Timing t;
      try (Tracer tr = new Tracer(m, op)) {
        tr.begin(Phase.NETWORK);
        spin(10_000);
        t = tr.finish();
      }
      assertTrue(t.phaseLeftOpen());
      assertEquals(1, t.phaseEntries(Phase.NETWORK));
      try (Snapshot s = m.snapshot()) {
        assertEquals(1, s.stats(op).leftOpen());
      }
    }
  }

  @Test
  void errorFlagIsCounted() {
    String op = unique("failing");
    try (Metrics m = Metrics.create()) {
      Timing t;
      try (Tracer tr = new Tracer(m, op)) {
        tr.setError();
        t = tr.finish();
      }
      assertTrue(t.isError());
      try (Tracer tr = new Tracer(m, op)) {
        tr.addItems(1);
      }
      try (Snapshot s = m.snapshot()) {
        assertEquals(2, s.stats(op).count());
        assertEquals(1, s.stats(op).errors());
      }
    }
  }

  @Test
  void boundOperationAndGlobalSink() {
    String op = unique("bound");
    Metrics g = Metrics.global();
    assertTrue(g.isGlobal());
    g.close(); // ignored for the global sink
    Op bound = g.op(op);
    assertEquals(op, bound.name());
    for (int i = 0; i < 5; i++) {
      try (Tracer tr = bound.tracer()) {
        try (Phase p = tr.phase(Phase.EXTRACT)) {
          spin(1_000);
        }
      }
    }
    try (Tracer tr = new Tracer(op)) { // the global sink by name
      tr.addItems(2);
    }
    try (Snapshot s = g.snapshot()) {
      assertEquals(6, s.stats(op).count());
      assertEquals(5, s.phase(op, Phase.EXTRACT).count());
      assertTrue(s.operations().contains(op));
    }
  }

  @Test
  void privateSinkClosedWithATracerOpenStaysAliveForIt() {
    Metrics m = Metrics.create();
    Tracer tr = new Tracer(m, unique("outlives"));
    m.close(); // freed once the tracer is done
    assertThrows(IllegalStateException.class, m::snapshot);
    try (Phase p = tr.phase(Phase.EXTRACT)) {
      spin(1_000);
    }
    Timing t = tr.finish(); // records into the sink, still alive underneath
    assertEquals(1, t.phaseEntries(Phase.EXTRACT));
    tr.close();
  }

  @Test
  void unicodeNamesRoundTrip() {
    String op = unique("añadir_🚀_ü");
    try (Metrics m = Metrics.create()) {
      try (Tracer tr = new Tracer(m, op)) {
        tr.addItems(1);
      }
      try (Snapshot s = m.snapshot()) {
        assertEquals(java.util.List.of(op), s.operations());
        assertEquals(op, s.stats(op).name());
        assertTrue(s.format().contains(op));
      }
    }
  }

  /** docs/api.md's verb table, with no names of before 0.1.0 left over. */
  @Test
  void namesFollowTheVerbTable() throws Exception {
    for (String m : new String[] {"addItems", "addGilRelease", "addGilWait", "setWorkers", "setError"}) {
      assertTrue(java.util.Arrays.stream(Tracer.class.getMethods()).anyMatch(x -> x.getName().equals(m)), m);
    }
    for (String old : new String[] {"gilRelease", "gilWait"}) {
      assertFalse(java.util.Arrays.stream(Tracer.class.getMethods()).anyMatch(x -> x.getName().equals(old)), old);
    }
    Class.forName("dev.boundarytrace.Timeline");
    Class.forName("dev.boundarytrace.TimelineInfo");
    assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.boundarytrace.Trace"));
    assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.boundarytrace.TraceInfo"));
  }

  @Test
  void libraryFacts() {
    assertEquals(Boundarytrace.BUILD_VERSION, Boundarytrace.versionString());
    assertEquals(0 * 10000 + 1 * 100 + 0, Boundarytrace.version());
    assertTrue(Boundarytrace.isEnabled());
    assertTrue(Boundarytrace.clockSource().equals("tsc") || Boundarytrace.clockSource().equals("monotonic"));
    long a = Boundarytrace.clockNowNs();
    spin(1_000);
    assertTrue(Boundarytrace.clockNowNs() > a);
    assertEquals("BT_E_NAME", Boundarytrace.statusName(-3));
  }

  @Test
  void disabledRecordsNothing() {
    String op = unique("disabled");
    try (Metrics m = Metrics.create()) {
      Boundarytrace.setEnabled(false);
      try {
        assertFalse(Boundarytrace.isEnabled());
        try (Tracer tr = new Tracer(m, op)) {
          try (Phase p = tr.phase(Phase.EXTRACT)) {
            spin(1_000);
          }
        }
      } finally {
        Boundarytrace.setEnabled(true);
      }
      try (Snapshot s = m.snapshot()) {
        assertFalse(s.contains(op));
      }
    }
  }
}
