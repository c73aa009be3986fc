package dev.boundarytrace;

/**
 * Distribution of one phase (or {@link Phase#TOTAL}) of one operation
 * (bt_phase_stats): per-operation times in nanoseconds; percentiles within 1/32.
 *
 * @param gilHeld 1 held, 0 released, -1 for the total
 */
public record PhaseStats(
    String name,
    int phase,
    int gilHeld,
    long count,
    long entries,
    long sumNs,
    long minNs,
    long maxNs,
    long p50Ns,
    long p90Ns,
    long p99Ns,
    long p999Ns) {
  static PhaseStats from(bt_phase_stats s) {
    return new PhaseStats(s.getName(), s.getPhase(), s.getGil_held(), s.getCount(), s.getEntries(),
        s.getSum_ns(), s.getMin_ns(), s.getMax_ns(), s.getP50_ns(), s.getP90_ns(), s.getP99_ns(),
        s.getP999_ns());
  }

  /** True for the whole-operation pseudo-phase. */
  public boolean isTotal() {
    return gilHeld < 0;
  }

  /** Mean per-operation time (0 without samples). */
  public long meanNs() {
    return count == 0 ? 0 : sumNs / count;
  }
}
