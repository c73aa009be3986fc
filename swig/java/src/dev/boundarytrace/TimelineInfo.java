package dev.boundarytrace;

/** State of the trace ring (bt_timeline_info). */
public record TraceInfo(long capacity, long kept, long dropped, boolean active) {}
