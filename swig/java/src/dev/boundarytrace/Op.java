package dev.boundarytrace;

/**
 * An operation name bound once in one {@link Metrics} (bt_op_lookup): tracers
 * created from it neither hash nor copy the name. Valid while its metrics is
 * open; using it afterwards throws IllegalStateException.
 */
public final class Op {
  private final Metrics metrics;
  private final long handle;

  Op(Metrics metrics, long handle) {
    this.metrics = metrics;
    this.handle = handle;
  }

  NativeRef metricsRef() {
    return metrics.ref();
  }

  long handle() {
    return handle;
  }

  /** The metrics it belongs to. */
  public Metrics metrics() {
    return metrics;
  }

  /** The operation name. */
  public String name() {
    NativeRef m = metrics.ref();
    m.acquire();
    try {
      return BtNative.bt_op_name(handle);
    } finally {
      m.release();
    }
  }

  /** A tracer for this operation. */
  public Tracer tracer() {
    return new Tracer(this);
  }
}
