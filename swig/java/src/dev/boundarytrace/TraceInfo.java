package dev.boundarytrace;

/** State of the trace ring (bt_trace_info). */
public record TraceInfo(long capacity, long kept, long dropped, boolean active) {}
