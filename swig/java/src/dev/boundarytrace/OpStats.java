package dev.boundarytrace;

/**
 * Aggregates of one operation name in a snapshot (bt_op_stats). Times in nanoseconds.
 * {@code saturated}: a sum reached 2^64 - 1 and stopped there (the figures are lower bounds).
 */
public record OpStats(
    String name,
    long count,
    long errors,
    long leftOpen,
    long items,
    long totalNs,
    long gilHeldNs,
    long gilReleasedNs,
    long gilWaitNs,
    long unattributedNs,
    long gilReleases,
    long parallelOps,
    long workersMax,
    boolean saturated) {
  static OpStats from(bt_op_stats s) {
    return new OpStats(s.getName(), s.getCount(), s.getErrors(), s.getLeft_open(), s.getItems(),
        s.getTotal_ns(), s.getGil_held_ns(), s.getGil_released_ns(), s.getGil_wait_ns(),
        s.getUnattributed_ns(), s.getGil_releases(), s.getParallel_ops(), s.getWorkers_max(),
        (s.getFlags() & BtNativeConstants.BT_STATS_SATURATED) != 0);
  }
}
