#include "cpp_impl/fork_guard.hpp"

#include <pthread.h>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/owner_gate.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/thread_slot.hpp"
#include "cpp_impl/timeline.hpp"
#include "cpp_impl/tracer.hpp"
#include "cpp_impl/startup.hpp"
#include "cpp_impl/test_hooks.hpp"

namespace bt {

namespace {

// The order the rest of the core nests them in (a Metrics lock before its
// shards and before the name pool or the clock; a phase registration before
// the name pool), so taking them all cannot deadlock with a running call.
// The spare tracer key's mutex comes last: nothing is taken under it, and a
// thread may hold a Metrics lock when it takes it (a snapshot's guarded
// region ends in a drain, reentry.hpp, which may free a first tracer).
void prepare() {
  Metrics::lock_all_for_fork();
  phases::register_mutex().lock();
  intern_mutex().lock();
  slots::slot_mutex().lock();
  timeline::ring_mutex().lock();
  clock::calibration_mutex().lock();
  spare_key_mutex().lock();
}

void release() {
  spare_key_mutex().unlock();
  clock::calibration_mutex().unlock();
  timeline::ring_mutex().unlock();
  slots::slot_mutex().unlock();
  intern_mutex().unlock();
  phases::register_mutex().unlock();
  Metrics::release_all_for_fork();
}

void in_child() {
  owner_gate::in_child();
  Metrics::leave_parent_slots_in_child();
  slots::reset_in_child();
  timeline::reset_in_child();
  release();
}

}  // namespace

#if defined(BT_ALLOC_HOOKS)
void testing::fork_prepare() { prepare(); }
void testing::fork_release() { release(); }
#endif

void install_fork_guard() {
  // Build the lazily made objects first, so the handlers never construct
  // anything between fork's halves.
  build_process_objects();
  pthread_atfork(prepare, release, in_child);
}

}  // namespace bt
