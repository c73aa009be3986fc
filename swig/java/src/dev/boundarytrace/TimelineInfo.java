package dev.boundarytrace;

/** State of the timeline (bt_timeline_info). */
public record TimelineInfo(long capacity, long kept, long dropped, boolean active) {}
