package dev.boundarytrace;

/**
 * Facts about a snapshot (bt_snapshot_info); times on the bt_clock_now_ns line.
 * For a shared directory ({@link Snapshot#readShared}, or the snapshot of a
 * shared sink): {@code dropped}, the records its processes could not keep (no
 * room); {@code processes}, the process slots merged, live and gone;
 * {@code skipped}, the files left out ({@link Snapshot#skipped()}). 0 otherwise.
 */
public record SnapshotInfo(long opCount, long startNs, long endNs, int phaseCount, long dropped,
    int processes, int skipped) {}
