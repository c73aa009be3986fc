#include "cpp_impl/clock.hpp"

#include <mutex>

#include "cpp_impl/reentry.hpp"
#if defined(BT_HAVE_TSC)
#include <cpuid.h>
#endif

namespace bt {
namespace clock {

State g_state;

namespace {

std::mutex g_calib_mutex;

#if defined(BT_HAVE_TSC)
bool tsc_is_invariant() {
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  return (d & (1u << 8)) != 0;  // "Invariant TSC": constant rate in all C/P-states
}

// One (tsc, monotonic) pair taken as close together as the machine allows:
// the monotonic read bracketed by two counter reads, tightest of a few tries.
void paired_read(uint64_t *tsc, uint64_t *mono) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    uint64_t a = __rdtsc();
    uint64_t m = mono_ns();
    uint64_t b = __rdtsc();
    if (b - a < best) {
      best = b - a;
      *tsc = a + (b - a) / 2;
      *mono = m;
    }
  }
}
#endif

}  // namespace

namespace {

// 32.32 nanoseconds per tick from two (tick, ns) readings; never 0.
uint64_t mult_between(uint64_t dt, uint64_t dn) {
  uint64_t m = dt ? static_cast<uint64_t>((static_cast<unsigned __int128>(dn) << 32) / dt) : (1ull << 32);
  return m ? m : 1;
}

}  // namespace

uint64_t estimate_mult() {
#if defined(BT_HAVE_TSC)
  if (g_state.source == Source::tsc) {
    uint64_t tsc = 0, mono = 0;
    paired_read(&tsc, &mono);
    return mult_between(tsc - g_state.tick0, mono - g_state.mono0);
  }
#endif
  return 1ull << 32;
}

uint64_t calibrate() {
  uint64_t m = __atomic_load_n(&g_state.mult, __ATOMIC_ACQUIRE);
  if (m != 0) return m;
  // A signal handler that interrupted this thread inside the library (here,
  // holding the calibration's lock, or in a fork holding every lock) must
  // not wait for it: nested, it gets an estimate. No guarded region calls
  // this, so a nested call is always such a handler.
  reentry::Guard inside;
  if (inside.nested()) return estimate_mult();
  std::lock_guard<std::mutex> lock(g_calib_mutex);
  m = __atomic_load_n(&g_state.mult, __ATOMIC_ACQUIRE);
  if (m != 0) return m;
#if defined(BT_HAVE_TSC)
  // A baseline of at least 10 ms since load keeps the rate error near 1e-6.
  // Most programs pass that before their first finish, so this rarely waits.
  constexpr uint64_t kBaselineNs = 10 * 1000 * 1000;
  uint64_t tsc1 = 0, mono1 = 0;
  for (;;) {
    paired_read(&tsc1, &mono1);
    if (mono1 - g_state.mono0 >= kBaselineNs) break;
    uint64_t left = kBaselineNs - (mono1 - g_state.mono0);
    timespec ts{0, static_cast<long>(left)};
    nanosleep(&ts, nullptr);
  }
  m = mult_between(tsc1 - g_state.tick0, mono1 - g_state.mono0);
#else
  m = 1ull << 32;
#endif
  __atomic_store_n(&g_state.mult, m, __ATOMIC_RELEASE);
  return m;
}

void init(bool force_os) {
  g_state.source = Source::monotonic;
#if defined(BT_HAVE_TSC)
  if (!force_os && tsc_is_invariant()) {
    g_state.source = Source::tsc;
    paired_read(&g_state.tick0, &g_state.mono0);
    return;
  }
#else
  (void)force_os;
#endif
  g_state.mono0 = mono_ns();
  g_state.tick0 = g_state.mono0;
}

std::mutex &calibration_mutex() { return g_calib_mutex; }

const char *source_name() {
  return g_state.source == Source::tsc ? "tsc" : "monotonic";
}

}  // namespace clock
}  // namespace bt
