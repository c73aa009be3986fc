package dev.boundarytrace;

import java.lang.ref.Cleaner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An immutable copy of a sink's aggregates, operations sorted by name. Safe from
 * any number of threads. Close it to free it now (try-with-resources); a
 * dropped snapshot is freed by a Cleaner. A closed snapshot throws
 * IllegalStateException.
 *
 * <p>Operations are named by their names; phases by id ({@link Phase#EXTRACT} …,
 * {@link Phase#TOTAL}) or by name.
 */
public final class Snapshot implements AutoCloseable {
  private final NativeRef ref;
  private final Cleaner.Cleanable cleanable;

  Snapshot(long handle) {
    ref = new NativeRef("Snapshot", handle, BtNative::bt_snapshot_free, null);
    cleanable = Native.CLEANER.register(this, ref);
  }

  /**
   * Merges every slot of the shared directory {@code dir}, live and gone, and its
   * archive into a new cumulative snapshot (bt_snapshot_read_shared): what every
   * process that recorded into a sink of {@link Metrics#openShared(Path)} (or under
   * BOUNDARYTRACE_SHARED_DIR) counted there. Needs only read access.
   * {@link #info()} counts the processes merged, the files skipped and the records
   * dropped; {@link #skipped()} names the files left out.
   *
   * @throws IllegalArgumentException BT_E_INVALID (an empty path)
   * @throws java.io.UncheckedIOException BT_E_IO, its message naming the directory
   *     and why (EACCES: group or others may write into it)
   */
  public static Snapshot readShared(Path dir) {
    return readShared(dir.toString());
  }

  /** {@link #readShared(Path)} with the directory as a string. */
  public static Snapshot readShared(String dir) {
    long[] out = new long[1];
    BtNative.bt_snapshot_read_shared(out, dir);
    return new Snapshot(out[0]);
  }

  private static long index(long p, String operation) {
    long[] out = new long[1];
    BtNative.bt_snapshot_find(out, p, operation);
    return out[0];
  }

  /** Number of operations. */
  public int size() {
    long p = ref.acquire();
    try {
      long[] out = new long[1];
      BtNative.bt_snapshot_op_count(out, p);
      return (int) out[0];
    } finally {
      ref.release();
    }
  }

  /** The operation names, sorted. */
  public List<String> operations() {
    List<String> names = new ArrayList<>();
    for (OpStats s : stats()) names.add(s.name());
    return names;
  }

  /** Whether the snapshot holds {@code operation}. */
  public boolean contains(String operation) {
    return operations().contains(operation);
  }

  /** Aggregates of every operation, sorted by name. */
  public List<OpStats> stats() {
    long p = ref.acquire();
    bt_op_stats raw = new bt_op_stats();
    try {
      long[] n = new long[1];
      BtNative.bt_snapshot_op_count(n, p);
      List<OpStats> all = new ArrayList<>((int) n[0]);
      for (long i = 0; i < n[0]; i++) {
        BtNative.bt_snapshot_op_stats(raw, p, i);
        all.add(OpStats.from(raw));
      }
      return all;
    } finally {
      raw.delete();
      ref.release();
    }
  }

  /**
   * Aggregates of one operation.
   *
   * @throws IllegalArgumentException BT_E_NOT_FOUND when the snapshot lacks it
   */
  public OpStats stats(String operation) {
    long p = ref.acquire();
    bt_op_stats raw = new bt_op_stats();
    try {
      BtNative.bt_snapshot_op_stats(raw, p, index(p, operation));
      return OpStats.from(raw);
    } finally {
      raw.delete();
      ref.release();
    }
  }

  /**
   * Distribution of one phase (or {@link Phase#TOTAL}) of one operation. A
   * registered phase the operation never entered gives count 0.
   *
   * @throws IllegalArgumentException BT_E_NOT_FOUND, BT_E_UNKNOWN_PHASE
   */
  public PhaseStats phase(String operation, int phase) {
    long p = ref.acquire();
    bt_phase_stats raw = new bt_phase_stats();
    try {
      BtNative.bt_snapshot_phase_stats(raw, p, index(p, operation), phase);
      return PhaseStats.from(raw);
    } finally {
      raw.delete();
      ref.release();
    }
  }

  /** Distribution of the phase registered as {@code phaseName}. */
  public PhaseStats phase(String operation, String phaseName) {
    return phase(operation, Phase.lookup(phaseName));
  }

  /** Distribution of the whole operation. */
  public PhaseStats total(String operation) {
    return phase(operation, Phase.TOTAL);
  }

  /** Distribution of the GIL wait per operation that released the GIL. */
  public PhaseStats gilWait(String operation) {
    return phase(operation, Phase.GIL_WAIT);
  }

  /**
   * Any quantile {@code q} in [0, 1] of one phase (or TOTAL), in nanoseconds.
   *
   * @throws IllegalArgumentException BT_E_INVALID (q outside [0, 1]), BT_E_NOT_FOUND,
   *     BT_E_UNKNOWN_PHASE
   */
  public long quantile(String operation, int phase, double q) {
    long p = ref.acquire();
    try {
      long[] out = new long[1];
      BtNative.bt_snapshot_quantile(out, p, index(p, operation), phase, q);
      return out[0];
    } finally {
      ref.release();
    }
  }

  /** The non-empty histogram buckets of one phase (or TOTAL), in increasing order. */
  public List<Bucket> buckets(String operation, int phase) {
    long p = ref.acquire();
    try {
      long[][] out = new long[1][];
      BtNative.bt_snapshot_buckets(out, p, index(p, operation), phase);
      long[] flat = out[0];
      List<Bucket> buckets = new ArrayList<>(flat.length / 3);
      for (int i = 0; i + 2 < flat.length; i += 3) {
        buckets.add(new Bucket(flat[i], flat[i + 1], flat[i + 2]));
      }
      return buckets;
    } finally {
      ref.release();
    }
  }

  /** Facts about the snapshot as a whole. */
  public SnapshotInfo info() {
    long p = ref.acquire();
    bt_snapshot_info raw = new bt_snapshot_info();
    try {
      BtNative.bt_snapshot_get_info(raw, p);
      return new SnapshotInfo(raw.getOp_count(), raw.getStart_ns(), raw.getEnd_ns(),
          (int) raw.getPhase_count(), raw.getDropped(), (int) raw.getProcesses(),
          (int) raw.getSkipped());
    } finally {
      raw.delete();
      ref.release();
    }
  }

  /**
   * The files a merge of a shared directory left out (truncated, foreign,
   * corrupted, or written in a newer major format), each with why
   * (bt_snapshot_get_skipped); empty for any other snapshot.
   */
  public List<Skipped> skipped() {
    long p = ref.acquire();
    bt_snapshot_info raw = new bt_snapshot_info();
    try {
      BtNative.bt_snapshot_get_info(raw, p);
      long n = raw.getSkipped();
      List<Skipped> all = new ArrayList<>((int) n);
      String[] path = new String[1];
      String[] reason = new String[1];
      for (long i = 0; i < n; i++) {
        BtNative.bt_snapshot_get_skipped(path, reason, p, i);
        all.add(new Skipped(path[0], reason[0]));
      }
      return all;
    } finally {
      raw.delete();
      ref.release();
    }
  }

  /** One file a merge of a shared directory left out, and why. */
  public record Skipped(String path, String reason) {}

  /** The human report (bt_snapshot_format). */
  public String format() {
    long p = ref.acquire();
    try {
      String[] out = new String[1];
      BtNative.bt_snapshot_format(out, p);
      return out[0];
    } finally {
      ref.release();
    }
  }

  /** The snapshot rendered in {@code format} (bt_snapshot_export). */
  public String export(Format format) {
    long p = ref.acquire();
    try {
      String[] out = new String[1];
      BtNative.bt_snapshot_export(out, p, format.code());
      return out[0];
    } finally {
      ref.release();
    }
  }

  /**
   * Writes the snapshot in {@code format} to {@code path}, atomically (bt_snapshot_write).
   *
   * @throws java.io.UncheckedIOException BT_E_IO, its message saying why
   */
  public void write(Format format, Path path) {
    long p = ref.acquire();
    try {
      BtNative.bt_snapshot_write(p, format.code(), path.toString());
    } finally {
      ref.release();
    }
  }

  /** Writes the snapshot in the format the file name's suffix names. */
  public void write(Path path) {
    write(Format.forPath(path), path);
  }

  /** True once closed. */
  public boolean isClosed() {
    return ref.isClosed();
  }

  /** Frees the snapshot (now, or when a call on another thread returns). */
  @Override
  public void close() {
    cleanable.clean();
  }

  @Override
  public String toString() {
    return ref.isClosed() ? "Snapshot[closed]" : format();
  }
}
