package dev.boundarytrace;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The timing of one operation: what {@link Tracer#finish()} returns, and what
 * {@link Metrics#record(Timing)} takes for a timing measured elsewhere (build it
 * with {@link #builder(String)}). Immutable. Times are nanoseconds.
 */
public final class Timing {
  private final String operation;
  private final long totalNs;
  private final long unattributedNs;
  private final long gilHeldNs;
  private final long gilReleasedNs;
  private final long gilWaitNs;
  private final long items;
  private final long gilReleases;
  private final long workers;
  private final long flags;
  private final int phaseCount;
  private final long[] phaseNs;
  private final long[] phaseEntries;

  private Timing(String operation, long totalNs, long unattributedNs, long gilHeldNs,
      long gilReleasedNs, long gilWaitNs, long items, long gilReleases, long workers, long flags,
      int phaseCount, long[] phaseNs, long[] phaseEntries) {
    this.operation = operation;
    this.totalNs = totalNs;
    this.unattributedNs = unattributedNs;
    this.gilHeldNs = gilHeldNs;
    this.gilReleasedNs = gilReleasedNs;
    this.gilWaitNs = gilWaitNs;
    this.items = items;
    this.gilReleases = gilReleases;
    this.workers = workers;
    this.flags = flags;
    this.phaseCount = phaseCount;
    this.phaseNs = phaseNs;
    this.phaseEntries = phaseEntries;
  }

  static Timing from(bt_timing t) {
    int max = Phase.MAX_PHASES;
    long[] ns = new long[max];
    long[] entries = new long[max];
    for (int i = 0; i < max; i++) {
      ns[i] = t.phase_ns_at(i);
      entries[i] = t.phase_entries_at(i);
    }
    return new Timing(t.getOp_name(), t.getTotal_ns(), t.getUnattributed_ns(), t.getGil_held_ns(),
        t.getGil_released_ns(), t.getGil_wait_ns(), t.getItems(), t.getGil_releases(),
        t.getWorkers(), t.getFlags(), (int) t.getPhase_count(), ns, entries);
  }

  /** A raw struct with every field set (free it with delete()). */
  bt_timing toRaw() {
    bt_timing t = new bt_timing();
    t.setTotal_ns(totalNs);
    t.setUnattributed_ns(unattributedNs);
    t.setGil_held_ns(gilHeldNs);
    t.setGil_released_ns(gilReleasedNs);
    t.setGil_wait_ns(gilWaitNs);
    t.setItems(items);
    t.setGil_releases(gilReleases);
    t.setWorkers(workers);
    t.setFlags(flags);
    t.setPhase_count(phaseCount);
    for (int i = 0; i < phaseNs.length; i++) t.set_phase(i, phaseNs[i], phaseEntries[i]);
    return t;
  }

  /** The operation name. */
  public String operation() {
    return operation;
  }

  /** Creation to finish. */
  public long totalNs() {
    return totalNs;
  }

  /** Total minus the time inside phases (boundary overhead). */
  public long unattributedNs() {
    return unattributedNs;
  }

  /** Time in phases whose GIL state is held. */
  public long gilHeldNs() {
    return gilHeldNs;
  }

  /** Time in phases whose GIL state is released. */
  public long gilReleasedNs() {
    return gilReleasedNs;
  }

  /** Time spent waiting to reacquire the GIL. */
  public long gilWaitNs() {
    return gilWaitNs;
  }

  /** Items (documents) handled. */
  public long items() {
    return items;
  }

  /** Times the GIL was released. */
  public long gilReleases() {
    return gilReleases;
  }

  /** Parallel workers used (0 = not reported). */
  public long workers() {
    return workers;
  }

  /** BT_TIMING_* bits (1 error, 2 phase left open). */
  public long flags() {
    return flags;
  }

  /** The operation was marked as failed. */
  public boolean isError() {
    return (flags & BtNativeConstants.BT_TIMING_ERROR) != 0;
  }

  /** finish() had to close a phase left open. */
  public boolean phaseLeftOpen() {
    return (flags & BtNativeConstants.BT_TIMING_PHASE_LEFT_OPEN) != 0;
  }

  /** Phases registered when the timing was taken (valid ids: 0 .. phaseCount()-1). */
  public int phaseCount() {
    return phaseCount;
  }

  /** Time in phase {@code id}. */
  public long phaseNs(int id) {
    return phaseNs[index(id, "Timing.phaseNs")];
  }

  /** Times phase {@code id} was entered. */
  public long phaseEntries(int id) {
    return phaseEntries[index(id, "Timing.phaseEntries")];
  }

  /** Time in the phase registered as {@code name}. */
  public long phaseNs(String name) {
    return phaseNs(Phase.lookup(name));
  }

  /** Entries of the phase registered as {@code name}. */
  public long phaseEntries(String name) {
    return phaseEntries(Phase.lookup(name));
  }

  /** The entered phases, name to nanoseconds, in id order. */
  public Map<String, Long> phases() {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < phaseNs.length; i++) {
      if (phaseEntries[i] != 0 || phaseNs[i] != 0) m.put(Phase.name(i), phaseNs[i]);
    }
    return m;
  }

  /** A phase id as an index into the phase arrays; BT_E_UNKNOWN_PHASE "(in call: ...)" outside. */
  private static int index(int id, String call) {
    if (id < 0 || id >= Phase.MAX_PHASES) {
      throw new IllegalArgumentException(Native.message(-4 /* BT_E_UNKNOWN_PHASE */, call, "phase id " + id));
    }
    return id;
  }

  /** The human report of this operation (bt_timing_format). */
  public String format() {
    bt_timing raw = toRaw();
    try {
      String[] out = new String[1];
      BtNative.bt_timing_format(out, raw, operation);
      return out[0];
    } finally {
      raw.delete();
    }
  }

  @Override
  public String toString() {
    return "Timing[" + operation + ", total " + totalNs + " ns, phases " + phases() + "]";
  }

  /** A builder for a timing measured elsewhere, to pass to {@link Metrics#record(Timing)}. */
  public static Builder builder(String operation) {
    return new Builder(operation);
  }

  /**
   * Builds a timing: the operation name, its total time, per-phase times and
   * entries, and the counters. The GIL held/released and unattributed times are
   * derived here from the phase table (the library derives them again when it
   * records).
   */
  public static final class Builder {
    private final String operation;
    private long totalNs;
    private long gilWaitNs;
    private long items;
    private long gilReleases;
    private long workers;
    private long flags;
    private final long[] phaseNs = new long[Phase.MAX_PHASES];
    private final long[] phaseEntries = new long[Phase.MAX_PHASES];

    private Builder(String operation) {
      this.operation = operation;
    }

    /** The builder makes what bt_metrics_record takes: its checks name that call. */
    private static final String RECORD = "bt_metrics_record";

    private static long nonNegative(String what, long v) {
      if (v < 0) throw Native.invalid(RECORD, what + " must not be negative: " + v);
      return v;
    }

    /** Total time of the operation. */
    public Builder totalNs(long ns) {
      totalNs = nonNegative("total_ns", ns);
      return this;
    }

    /** Time in phase {@code id}, entered once. */
    public Builder phase(int id, long ns) {
      return phase(id, ns, 1);
    }

    /** Time in phase {@code id} and how often it was entered. */
    public Builder phase(int id, long ns, long entries) {
      int i = index(id, RECORD);
      phaseNs[i] = nonNegative("phase_ns", ns);
      if (entries < 0 || entries > 0xffffffffL) {
        throw Native.invalid(RECORD, "phase_entries is out of range: " + entries);
      }
      phaseEntries[i] = entries;
      return this;
    }

    /** Time in the phase registered as {@code name}, entered once. */
    public Builder phase(String name, long ns) {
      return phase(Phase.lookup(name), ns, 1);
    }

    /** Time in the phase registered as {@code name} and its entries. */
    public Builder phase(String name, long ns, long entries) {
      return phase(Phase.lookup(name), ns, entries);
    }

    /** Items (documents) handled. */
    public Builder items(long n) {
      items = nonNegative("items", n);
      return this;
    }

    /** GIL releases. */
    public Builder gilReleases(long n) {
      if (n < 0 || n > 0xffffffffL) throw Native.invalid(RECORD, "gil_releases is out of range: " + n);
      gilReleases = n;
      return this;
    }

    /** Time spent waiting to reacquire the GIL. */
    public Builder gilWaitNs(long ns) {
      gilWaitNs = nonNegative("gil_wait_ns", ns);
      return this;
    }

    /** Parallel workers used. */
    public Builder workers(long n) {
      if (n < 0 || n > 0xffffffffL) throw Native.invalid(RECORD, "workers is out of range: " + n);
      workers = n;
      return this;
    }

    /** Marks the operation as failed. */
    public Builder error(boolean error) {
      flags = error ? flags | BtNativeConstants.BT_TIMING_ERROR
                    : flags & ~BtNativeConstants.BT_TIMING_ERROR;
      return this;
    }

    /** The timing. */
    public Timing build() {
      long inPhases = 0;
      long held = 0;
      long released = 0;
      int registered = Phase.count();
      for (int i = 0; i < phaseNs.length; i++) {
        inPhases += phaseNs[i];
        if (phaseNs[i] == 0 || i >= registered) continue;
        if (Phase.isGilHeld(i)) held += phaseNs[i]; else released += phaseNs[i];
      }
      // The GIL wait falls between phases, so it is not unattributed time (as bt.h).
      long rest = Math.max(0, totalNs - inPhases);
      return new Timing(operation, totalNs, Math.max(0, rest - gilWaitNs), held, released, gilWaitNs,
          items, gilReleases, workers, flags, Phase.count(), Arrays.copyOf(phaseNs, phaseNs.length),
          Arrays.copyOf(phaseEntries, phaseEntries.length));
    }
  }
}
