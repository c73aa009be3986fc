package dev.boundarytrace;

/** One non-empty histogram bucket: {@code count} samples in [lowerNs, upperNs). */
public record Bucket(long lowerNs, long upperNs, long count) {}
