package dev.boundarytrace;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * One native handle, shared by the calls that use it: each call acquires it and
 * releases it when done, and the C handle is freed when the owner has closed it
 * and the last user has released it. So a close() racing a call on another
 * thread never frees the handle under that call, a handle is freed exactly once,
 * and a closed object throws IllegalStateException instead of touching freed
 * memory.
 *
 * <p>It is also the Cleaner action of its owner: run() is close(). It must not
 * refer to the owning object (or the Cleaner would never run), so the free
 * function is a static method reference.
 */
final class NativeRef implements Runnable {
  private final String what;
  private final long ptr;
  private final LongConsumer free;
  private final NativeRef parent;
  /** 1 for the owner while open, plus one per call in flight or child alive. */
  private final AtomicInteger users = new AtomicInteger(1);
  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * @param what   what the handle is, for messages ("Snapshot")
   * @param ptr    the C handle
   * @param free   frees the C handle (a static method reference)
   * @param parent a handle this one depends on, acquired by the caller and released
   *               after this one is freed (a tracer's metrics); may be null
   */
  NativeRef(String what, long ptr, LongConsumer free, NativeRef parent) {
    this.what = what;
    this.ptr = ptr;
    this.free = free;
    this.parent = parent;
  }

  /** The handle, for one call; release() it when done. Throws if closed. */
  long acquire() {
    for (;;) {
      int n = users.get();
      if (n == 0 || closed.get()) throw new IllegalStateException(what + " is closed");
      if (users.compareAndSet(n, n + 1)) return ptr;
    }
  }

  void release() {
    if (users.decrementAndGet() == 0) {
      try {
        free.accept(ptr);
      } finally {
        if (parent != null) parent.release();
      }
    }
  }

  boolean isClosed() {
    return closed.get();
  }

  /** Close: the owner lets go; the handle is freed now or when the last call returns. */
  @Override
  public void run() {
    if (closed.compareAndSet(false, true)) release();
  }
}
