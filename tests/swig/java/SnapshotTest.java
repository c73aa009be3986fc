package dev.boundarytrace.tests;

import static dev.boundarytrace.tests.Util.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Bucket;
import dev.boundarytrace.Metrics;
import dev.boundarytrace.OpStats;
import dev.boundarytrace.Phase;
import dev.boundarytrace.PhaseStats;
import dev.boundarytrace.Snapshot;
import dev.boundarytrace.SnapshotInfo;
import dev.boundarytrace.Timing;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Snapshot values against timings recorded with known, exact values. */
class SnapshotTest {
  /** Ten identical operations: every statistic is exact, every quantile the value. */
  @Test
  void identicalOperationsGiveExactStatistics() {
    String op = unique("exact");
    try (Metrics m = Metrics.create()) {
      Timing t = Timing.builder(op).totalNs(5000)
          .phase(Phase.EXTRACT, 1000)
          .phase(Phase.CONVERT, 2000, 3)
          .items(7).gilReleases(2).gilWaitNs(50).workers(4).build();
      assertEquals(1000, t.gilHeldNs());
      assertEquals(2000, t.gilReleasedNs());
      assertEquals(2000 - 50, t.unattributedNs()); // the GIL wait is not unattributed
      for (int i = 0; i < 10; i++) m.record(t);
      try (Snapshot s = m.snapshot()) {
        assertEquals(1, s.size());
        OpStats st = s.stats(op);
        assertEquals(new OpStats(op, 10, 0, 0, 70, 50_000, 10_000, 20_000, 500, 19_500, 20, 10, 4, false), st);
        // the GIL wait: 50 ns per operation over 2 releases each
        assertEquals(new PhaseStats("GIL wait", Phase.GIL_WAIT, -1, 10, 20, 500, 50, 50, 50, 50, 50, 50),
            s.gilWait(op));
        assertEquals(new PhaseStats("extract", Phase.EXTRACT, 1, 10, 10, 10_000, 1000, 1000, 1000,
            1000, 1000, 1000), s.phase(op, Phase.EXTRACT));
        assertEquals(new PhaseStats("convert", Phase.CONVERT, 0, 10, 30, 20_000, 2000, 2000, 2000,
            2000, 2000, 2000), s.phase(op, "convert"));
        assertEquals(new PhaseStats("total", Phase.TOTAL, -1, 10, 10, 50_000, 5000, 5000, 5000, 5000,
            5000, 5000), s.total(op));
        PhaseStats never = s.phase(op, Phase.NETWORK);
        assertEquals(0, never.count());
        assertEquals(0, never.sumNs());
        for (double q : new double[] {0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1}) {
          assertEquals(1000, s.quantile(op, Phase.EXTRACT, q), "q=" + q);
          assertEquals(5000, s.quantile(op, Phase.TOTAL, q), "q=" + q);
        }
        assertEquals(0, s.quantile(op, Phase.NETWORK, 0.5), "no samples");
        List<Bucket> b = s.buckets(op, Phase.EXTRACT);
        assertEquals(1, b.size());
        assertEquals(10, b.get(0).count());
        assertTrue(b.get(0).lowerNs() <= 1000 && 1000 < b.get(0).upperNs(), b.toString());
      }
    }
  }

  /** Totals of 1..10 ns fall in exact buckets: quantiles are the nearest-rank values. */
  @Test
  void smallValuesGiveExactQuantiles() {
    String op = unique("small");
    try (Metrics m = Metrics.create()) {
      for (long v = 10; v >= 1; v--) m.record(Timing.builder(op).totalNs(v).build());
      try (Snapshot s = m.snapshot()) {
        PhaseStats tot = s.total(op);
        assertEquals(10, tot.count());
        assertEquals(55, tot.sumNs());
        assertEquals(1, tot.minNs());
        assertEquals(10, tot.maxNs());
        assertEquals(5, tot.p50Ns());
        assertEquals(9, tot.p90Ns());
        assertEquals(10, tot.p99Ns());
        assertEquals(10, tot.p999Ns());
        assertEquals(1, s.quantile(op, Phase.TOTAL, 0.0));
        assertEquals(1, s.quantile(op, Phase.TOTAL, 0.1));
        assertEquals(3, s.quantile(op, Phase.TOTAL, 0.25));
        assertEquals(7, s.quantile(op, Phase.TOTAL, 0.7));
        assertEquals(10, s.quantile(op, Phase.TOTAL, 1.0));
        List<Bucket> b = s.buckets(op, Phase.TOTAL);
        assertEquals(10, b.size());
        for (int i = 0; i < 10; i++) assertEquals(new Bucket(i + 1, i + 2, 1), b.get(i));
      }
    }
  }

  /** 1..1000 µs: percentiles within the documented 1/32 of the nearest rank. */
  @Test
  void spreadValuesGivePercentilesWithinOneThirtySecond() {
    String op = unique("spread");
    try (Metrics m = Metrics.create()) {
      for (int i = 1; i <= 1000; i++) {
        long total = i * 1000L;
        m.record(Timing.builder(op).totalNs(total).phase(Phase.NETWORK, total / 2).error(i % 100 == 0)
            .build());
      }
      try (Snapshot s = m.snapshot()) {
        OpStats st = s.stats(op);
        assertEquals(1000, st.count());
        assertEquals(10, st.errors());
        assertEquals(500_500_000L, st.totalNs());
        PhaseStats tot = s.total(op);
        assertEquals(1000, tot.minNs());
        assertEquals(1_000_000, tot.maxNs());
        within(500_000, tot.p50Ns());
        within(900_000, tot.p90Ns());
        within(990_000, tot.p99Ns());
        within(999_000, tot.p999Ns());
        within(250_000, s.quantile(op, Phase.NETWORK, 0.5));
        long n = 0;
        for (Bucket b : s.buckets(op, Phase.TOTAL)) n += b.count();
        assertEquals(1000, n, "bucket counts add up to the count");
      }
    }
  }

  private static void within(long want, long got) {
    assertTrue(Math.abs(got - want) * 32 <= want, got + " is not within 1/32 of " + want);
  }

  @Test
  void takeSplitsIntervalsAndResetZeroes() {
    String op = unique("intervals");
    try (Metrics m = Metrics.create()) {
      Timing t = Timing.builder(op).totalNs(100).build();
      for (int i = 0; i < 3; i++) m.record(t);
      try (Metrics.Interval first = m.take()) {
        assertEquals(3, first.interval().stats(op).count());
        assertEquals(3, first.cumulative().stats(op).count());
      }
      for (int i = 0; i < 2; i++) m.record(t);
      try (Metrics.Interval second = m.take()) {
        assertEquals(2, second.interval().stats(op).count());
        assertEquals(5, second.cumulative().stats(op).count());
        SnapshotInfo info = second.interval().info();
        assertEquals(1, info.opCount());
        assertTrue(info.endNs() >= info.startNs());
        assertTrue(info.phaseCount() >= 4);
      }
      m.reset();
      try (Snapshot s = m.snapshot()) {
        assertEquals(0, s.stats(op).count(), "reset keeps the name, zeroes the counts");
      }
    }
  }
}
