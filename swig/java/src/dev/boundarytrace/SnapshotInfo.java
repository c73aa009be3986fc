package dev.boundarytrace;

/** Facts about a snapshot (bt_snapshot_info); times on the bt_clock_now_ns line. */
public record SnapshotInfo(long opCount, long startNs, long endNs, int phaseCount) {}
