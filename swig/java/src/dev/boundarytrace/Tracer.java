package dev.boundarytrace;

import java.lang.ref.Cleaner;

/**
 * Times one operation: the clock starts when the tracer is created and stops at
 * {@link #finish()}. Use it in try-with-resources; {@link #close()} finishes it
 * (recording the operation) unless it finished already, then frees it.
 *
 * <pre>{@code
 * try (Tracer t = new Tracer("insert_many")) {
 *   try (Phase p = t.phase(Phase.EXTRACT)) { read(); }
 *   try (Phase p = t.phase(Phase.NETWORK)) { send(); }
 *   t.addItems(docs.size());
 * }
 * }</pre>
 *
 * <p>A tracer belongs to one thread at a time; it may be handed to another thread.
 * A tracer dropped without close() is freed by a Cleaner without recording anything.
 * Errors throw: IllegalArgumentException (BT_E_UNKNOWN_PHASE, BT_E_NAME, …) and
 * IllegalStateException (BT_E_PHASE_OPEN, BT_E_PHASE_NOT_OPEN, BT_E_FINISHED, a closed
 * tracer), with the status name first in the message.
 */
public final class Tracer implements AutoCloseable {
  private final NativeRef ref;
  private final Cleaner.Cleanable cleanable;
  private boolean finished;

  /** Starts an operation recorded into the global metrics. */
  public Tracer(String operation) {
    this(Metrics.global(), operation);
  }

  /** Starts an operation recorded into {@code metrics}. */
  public Tracer(Metrics metrics, String operation) {
    NativeRef m = metrics.ref();
    long mp = m.acquire(); // held until this tracer is freed: the sink outlives it
    long[] out = new long[1];
    try {
      BtNative.bt_tracer_new(out, mp, operation);
    } catch (RuntimeException | Error e) {
      m.release();
      throw e;
    }
    ref = new NativeRef("Tracer", out[0], BtNative::bt_tracer_free, m);
    cleanable = Native.CLEANER.register(this, ref);
  }

  /** Starts an operation of a bound name (no lookup per call). */
  public Tracer(Op op) {
    NativeRef m = op.metricsRef();
    m.acquire();
    long[] out = new long[1];
    try {
      BtNative.bt_tracer_new_op(out, op.handle());
    } catch (RuntimeException | Error e) {
      m.release();
      throw e;
    }
    ref = new NativeRef("Tracer", out[0], BtNative::bt_tracer_free, m);
    cleanable = Native.CLEANER.register(this, ref);
  }

  /** Enters phase {@code id}; close the returned Phase to end it. */
  public Phase phase(int id) {
    begin(id);
    return new Phase(this, id);
  }

  /** Enters the phase registered as {@code name} (built-in names work too). */
  public Phase phase(String name) {
    return phase(Phase.lookup(name));
  }

  /** Enters phase {@code id} (bt_phase_begin). */
  public void begin(int id) {
    long p = ref.acquire();
    try {
      BtNative.bt_phase_begin(p, id);
    } finally {
      ref.release();
    }
  }

  /** Leaves phase {@code id}, which must be the open one (bt_phase_end). */
  public void end(int id) {
    long p = ref.acquire();
    try {
      BtNative.bt_phase_end(p, id);
    } finally {
      ref.release();
    }
  }

  /** Adds {@code n} items (documents) handled. */
  public Tracer addItems(long n) {
    if (n < 0) throw Native.invalid("bt_tracer_add_items", "n must not be negative: " + n);
    long p = ref.acquire();
    try {
      BtNative.bt_tracer_add_items(p, n);
    } finally {
      ref.release();
    }
    return this;
  }

  /** Counts one release of the GIL. */
  public Tracer addGilRelease() {
    long p = ref.acquire();
    try {
      BtNative.bt_tracer_add_gil_release(p);
    } finally {
      ref.release();
    }
    return this;
  }

  /** Adds {@code ns} nanoseconds spent waiting to reacquire the GIL. */
  public Tracer addGilWait(long ns) {
    if (ns < 0) throw Native.invalid("bt_tracer_add_gil_wait", "ns must not be negative: " + ns);
    long p = ref.acquire();
    try {
      BtNative.bt_tracer_add_gil_wait(p, ns);
    } finally {
      ref.release();
    }
    return this;
  }

  /** Reports the parallel workers used (the largest value reported wins). */
  public Tracer setWorkers(int workers) {
    if (workers < 0) {
      throw Native.invalid("bt_tracer_set_workers", "workers must not be negative: " + workers);
    }
    long p = ref.acquire();
    try {
      BtNative.bt_tracer_set_workers(p, workers);
    } finally {
      ref.release();
    }
    return this;
  }

  /** Marks the operation as failed. */
  public Tracer setError() {
    long p = ref.acquire();
    try {
      BtNative.bt_tracer_set_error(p);
    } finally {
      ref.release();
    }
    return this;
  }

  /**
   * Stops the clock, closes a phase left open, records the operation and returns
   * its timing.
   *
   * @throws IllegalStateException BT_E_FINISHED on a second call, or when closed
   */
  public Timing finish() {
    long p = ref.acquire();
    bt_timing raw = new bt_timing();
    try {
      try {
        BtNative.bt_tracer_finish_timing(raw, p);
      } catch (IllegalStateException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("BT_E_FINISHED")) finished = true;
        throw e;
      } catch (OutOfMemoryError e) {
        finished = true; // BT_E_NOMEM: finished, the record dropped
        throw e;
      }
      finished = true;
      return Timing.from(raw);
    } finally {
      raw.delete();
      ref.release();
    }
  }

  /** True once finish() ran (or close()). */
  public boolean isFinished() {
    return finished || ref.isClosed();
  }

  /** Finishes the operation unless it finished already, then frees the tracer. */
  @Override
  public void close() {
    if (ref.isClosed()) return;
    try {
      if (!finished) finish();
    } finally {
      cleanable.clean();
    }
  }
}
