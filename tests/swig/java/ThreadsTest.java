package dev.boundarytrace.tests;

import static dev.boundarytrace.tests.Util.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Metrics;
import dev.boundarytrace.Op;
import dev.boundarytrace.OpStats;
import dev.boundarytrace.Phase;
import dev.boundarytrace.Snapshot;
import dev.boundarytrace.Tracer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Many threads into one operation: every record counted exactly once. */
class ThreadsTest {
  static final int THREADS = 8;
  static final int OPS = 2000;

  private static void runAll(List<Thread> threads) throws InterruptedException {
    for (Thread t : threads) t.start();
    for (Thread t : threads) t.join(120_000);
    for (Thread t : threads) assertTrue(!t.isAlive(), "thread " + t.getName() + " hung");
  }

  @Test
  void eightThreadsIntoOneOperationCountExactly() throws Exception {
    String op = unique("threads");
    try (Metrics m = Metrics.create()) {
      Op bound = m.op(op + "_bound");
      CountDownLatch go = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < THREADS; i++) {
        final int worker = i;
        threads.add(new Thread(() -> {
          try {
            go.await();
            for (int n = 0; n < OPS; n++) {
              try (Tracer t = new Tracer(m, op)) {
                try (Phase p = t.phase(Phase.EXTRACT)) {
                  // nothing: the count is what matters
                }
                try (Phase p = t.phase(Phase.NETWORK)) {
                  // nothing
                }
                t.addItems(worker + 1);
              }
              try (Tracer t = bound.tracer()) {
                t.addGilRelease();
              }
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        }, "bt-" + i));
      }
      go.countDown();
      runAll(threads);
      if (failure.get() != null) throw new AssertionError("a thread failed", failure.get());

      try (Snapshot s = m.snapshot()) {
        OpStats st = s.stats(op);
        assertEquals((long) THREADS * OPS, st.count());
        assertEquals((long) OPS * (THREADS * (THREADS + 1) / 2), st.items());
        assertEquals((long) THREADS * OPS, s.phase(op, Phase.EXTRACT).entries());
        assertEquals((long) THREADS * OPS, s.phase(op, Phase.NETWORK).count());
        assertEquals((long) THREADS * OPS, s.stats(op + "_bound").count());
        assertEquals((long) THREADS * OPS, s.stats(op + "_bound").gilReleases());
      }
    }
  }

  /** A snapshot read by 8 threads while it is closed: each call works or says closed. */
  @Test
  void closeRacingReadersNeverCrashes() throws Exception {
    String op = unique("race");
    try (Metrics m = Metrics.create()) {
      try (Tracer t = new Tracer(m, op)) {
        t.addItems(1);
      }
      for (int round = 0; round < 20; round++) {
        Snapshot s = m.snapshot();
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger closed = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
          threads.add(new Thread(() -> {
            try {
              go.await();
              for (int n = 0; n < 200; n++) {
                try {
                  assertEquals(1, s.stats(op).count());
                  s.export(dev.boundarytrace.Format.JSON);
                  ok.incrementAndGet();
                } catch (IllegalStateException e) {
                  assertEquals("Snapshot is closed", e.getMessage());
                  closed.incrementAndGet();
                }
              }
            } catch (Throwable e) {
              failure.compareAndSet(null, e);
            }
          }));
        }
        for (Thread t : threads) t.start();
        go.countDown();
        Thread.sleep(1);
        s.close();
        for (Thread t : threads) t.join(60_000);
        if (failure.get() != null) throw new AssertionError("a reader failed", failure.get());
        assertEquals(THREADS * 200, ok.get() + closed.get());
        assertTrue(s.isClosed());
      }
    }
  }
}
