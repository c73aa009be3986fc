package dev.boundarytrace;

import java.lang.ref.Cleaner;

/**
 * A sink that aggregates finished operations: the process-wide {@link #global()}
 * one, or a private one from {@link #create()} (for a test or a subsystem).
 * Safe from any number of threads.
 *
 * <p>A private sink is freed by {@link #close()} (or, if dropped, by a Cleaner);
 * tracers still running against it keep it alive until they are closed, so
 * their records never land in freed memory. Using a closed sink throws
 * IllegalStateException. The global sink ignores close().
 */
public final class Metrics implements AutoCloseable {
  private static final Metrics GLOBAL =
      new Metrics(new NativeRef("the global Metrics", BtNative.bt_metrics_global(), p -> {}, null), true);

  private final NativeRef ref;
  private final Cleaner.Cleanable cleanable;
  private final boolean global;

  private Metrics(NativeRef ref, boolean global) {
    this.ref = ref;
    this.global = global;
    this.cleanable = global ? null : Native.CLEANER.register(this, ref);
  }

  /** The process-wide sink (bt_metrics_global). */
  public static Metrics global() {
    return GLOBAL;
  }

  /** A new private sink (bt_metrics_new). */
  public static Metrics create() {
    long[] out = new long[1];
    BtNative.bt_metrics_new(out);
    return new Metrics(new NativeRef("Metrics", out[0], BtNative::bt_metrics_free, null), false);
  }

  NativeRef ref() {
    return ref;
  }

  /** True for the process-wide sink. */
  public boolean isGlobal() {
    return global;
  }

  /**
   * Binds an operation name once, for tracers created in a loop.
   *
   * @throws IllegalArgumentException BT_E_NAME
   * @throws IllegalStateException BT_E_FULL (too many operation names)
   */
  public Op op(String name) {
    long p = ref.acquire();
    try {
      long[] out = new long[1];
      BtNative.bt_op_lookup(out, p, name);
      return new Op(this, out[0]);
    } finally {
      ref.release();
    }
  }

  /**
   * Records a timing measured elsewhere, as if a tracer had finished it.
   *
   * @throws IllegalArgumentException BT_E_INVALID (phases longer than the total),
   *     BT_E_NAME, BT_E_UNKNOWN_PHASE
   */
  public void record(Timing timing) {
    bt_timing raw = timing.toRaw();
    long p = ref.acquire();
    try {
      BtNative.bt_metrics_record(p, raw, timing.operation());
    } finally {
      ref.release();
      raw.delete();
    }
  }

  /** Zeroes every aggregate; bound operations stay valid. */
  public void reset() {
    long p = ref.acquire();
    try {
      BtNative.bt_metrics_reset(p);
    } finally {
      ref.release();
    }
  }

  /** An immutable copy of the cumulative aggregates; close it when done. */
  public Snapshot snapshot() {
    long p = ref.acquire();
    try {
      long[] out = new long[1];
      BtNative.bt_metrics_snapshot(out, p);
      return new Snapshot(out[0]);
    } finally {
      ref.release();
    }
  }

  /**
   * Interval reporting: what was recorded since the previous take, and the
   * cumulative view at the same instant. Close the result (both snapshots).
   */
  public Interval take() {
    long p = ref.acquire();
    try {
      long[] interval = new long[1];
      long[] cumulative = new long[1];
      BtNative.bt_metrics_take(interval, cumulative, p);
      return new Interval(new Snapshot(interval[0]), new Snapshot(cumulative[0]));
    } finally {
      ref.release();
    }
  }

  /** Frees a private sink (once its tracers are closed); the global sink ignores it. */
  @Override
  public void close() {
    if (!global) cleanable.clean();
  }

  /** The two snapshots of {@link Metrics#take()}. */
  public record Interval(Snapshot interval, Snapshot cumulative) implements AutoCloseable {
    @Override
    public void close() {
      try {
        interval.close();
      } finally {
        cumulative.close();
      }
    }
  }
}
