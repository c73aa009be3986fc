package dev.boundarytrace;

import java.lang.ref.Cleaner;
import java.nio.file.Path;

/**
 * A sink that aggregates finished operations: the process-wide {@link #global()}
 * one, a private one from {@link #create()} (for a test or a subsystem), or one
 * shared by many processes through a directory, from {@link #openShared(Path)}.
 * Safe from any number of threads.
 *
 * <p>A private or shared sink is freed by {@link #close()} (or, if dropped, by a
 * Cleaner); tracers still running against it keep it alive until they are
 * closed, so their records never land in freed memory. Using a closed sink
 * throws IllegalStateException. The global sink ignores close().
 */
public final class Metrics implements AutoCloseable {
  private static final Metrics GLOBAL =
      new Metrics(new NativeRef("the global Metrics", BtNative.bt_metrics_global(), p -> {}, null), true,
          null);

  private final NativeRef ref;
  private final Cleaner.Cleanable cleanable;
  private final boolean global;
  private final String sharedDir;

  private Metrics(NativeRef ref, boolean global, String sharedDir) {
    this.ref = ref;
    this.global = global;
    this.sharedDir = sharedDir;
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
    return new Metrics(new NativeRef("Metrics", out[0], BtNative::bt_metrics_free, null), false, null);
  }

  /**
   * Opens a sink whose figures live in the directory {@code dir} (best on a tmpfs
   * such as /dev/shm), shared by every process that opens it: the workers of a
   * pre-fork server record into it, and any process reads them all with
   * {@link Snapshot#readShared(Path)} (bt_metrics_open_shared). A missing
   * directory is created with mode 0700. This process takes a slot file of its
   * own there; a second sink opened in the same process takes a second slot.
   * {@link #snapshot()} merges the whole directory; {@link #take()} and
   * {@link #reset()} throw BT_E_INVALID, as the figures belong to every process.
   * Close it when done (its slot is folded by the next process that opens the
   * directory).
   *
   * @throws IllegalArgumentException BT_E_INVALID (an empty path)
   * @throws java.io.UncheckedIOException BT_E_IO, its message naming the directory
   *     and why: EACCES for a directory that group or others may write into, or
   *     that belongs to another user
   */
  public static Metrics openShared(Path dir) {
    return openShared(dir.toString());
  }

  /** {@link #openShared(Path)} with the directory as a string. */
  public static Metrics openShared(String dir) {
    long[] out = new long[1];
    BtNative.bt_metrics_open_shared(out, dir);
    return new Metrics(new NativeRef("Metrics", out[0], BtNative::bt_metrics_free, null), false, dir);
  }

  NativeRef ref() {
    return ref;
  }

  /** True for the process-wide sink. */
  public boolean isGlobal() {
    return global;
  }

  /** The directory of a sink made by {@link #openShared(Path)}, else null. */
  public String sharedDir() {
    return sharedDir;
  }

  /*
   * The library answers BT_E_INVALID to take and reset only on a shared sink
   * (one of openShared, or the global sink under BOUNDARYTRACE_SHARED_DIR): say so.
   */
  private IllegalArgumentException sharedRefusal(String call, IllegalArgumentException e) {
    String msg = e.getMessage();
    if (msg == null || !msg.startsWith("BT_E_INVALID: ") || (sharedDir == null && !global)) return e;
    String where = sharedDir != null ? "the directory " + sharedDir : "BOUNDARYTRACE_SHARED_DIR";
    IllegalArgumentException r = new IllegalArgumentException(Native.message(-2, call,
        "this sink is shared through " + where + ": its figures belong to every process writing "
        + "there; read them with snapshot()"));
    r.initCause(e);
    return r;
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

  /**
   * Zeroes every aggregate; bound operations stay valid.
   *
   * @throws IllegalArgumentException BT_E_INVALID on a shared sink
   */
  public void reset() {
    long p = ref.acquire();
    try {
      BtNative.bt_metrics_reset(p);
    } catch (IllegalArgumentException e) {
      throw sharedRefusal("bt_metrics_reset", e);
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
   *
   * @throws IllegalArgumentException BT_E_INVALID on a shared sink
   */
  public Interval take() {
    long p = ref.acquire();
    try {
      long[] interval = new long[1];
      long[] cumulative = new long[1];
      BtNative.bt_metrics_take(interval, cumulative, p);
      return new Interval(new Snapshot(interval[0]), new Snapshot(cumulative[0]));
    } catch (IllegalArgumentException e) {
      throw sharedRefusal("bt_metrics_take", e);
    } finally {
      ref.release();
    }
  }

  /** Frees a private or shared sink (once its tracers are closed); the global sink ignores it. */
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
