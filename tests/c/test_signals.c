/* Signal handlers that trace (bt.h, "Signals"): a thread traces operations
 * in a loop, now and then taking a snapshot, while another thread sends it a
 * storm of SIGUSR1; the handler traces a whole operation of the same bound
 * op each time. Nothing deadlocks (the interrupted code may hold that op's
 * shard lock, the snapshot's, or be inside malloc), and the counts are exact:
 * the loop's operations plus the handled signals. Its own process: it
 * installs a signal handler. Linked to the test-only library, which tells
 * how many handlers interrupted the library (bt_testing_nested). */
#include "bt_test.h"

#include <signal.h>
#include <unistd.h>

/* Test-only (cpp_impl/test_hooks.cpp, alloc_hooks.cpp). */
void bt_testing_nested(uint64_t *recorded, uint64_t *deferred, uint64_t *reserve_in_use);
void bt_testing_on_nested_alloc(void (*fn)(void));
long bt_testing_alloc_fail(long nth);


static bt_metrics *g_metrics;
static bt_op *g_op;
/* Lock-free atomics (__atomic), async-signal-safe: the sender reads them. */
static int g_handled;        /* operations the handler traced */
static int g_handler_failed; /* a call in the handler failed */
static int g_stop;                             /* __atomic: the sender is done */

static void on_signal(int sig) {
  int saved = errno;
  bt_tracer *t = NULL;
  bt_timing tm = BT_TIMING_INIT;
  const int handled = __atomic_load_n(&g_handled, __ATOMIC_RELAXED);
  (void)sig;
  if (bt_tracer_new_op(&t, g_op) != BT_OK || bt_phase_begin(t, BT_PHASE_EXTRACT) != BT_OK ||
      bt_phase_end(t, BT_PHASE_EXTRACT) != BT_OK || bt_phase_begin(t, BT_PHASE_NETWORK) != BT_OK ||
      bt_phase_end(t, BT_PHASE_NETWORK) != BT_OK || bt_tracer_add_items(t, 1) != BT_OK ||
      bt_tracer_add_gil_release(t) != BT_OK || bt_tracer_add_gil_wait(t, 5) != BT_OK ||
      bt_tracer_set_workers(t, 1) != BT_OK ||
      ((handled & 1) ? bt_tracer_finish(t) : bt_tracer_finish_timing(&tm, t)) != BT_OK ||
      ((handled & 1) == 0 && tm.phase_entries[BT_PHASE_NETWORK] != 1)) {
    __atomic_store_n(&g_handler_failed, 1, __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(&g_handled, handled + 1, __ATOMIC_RELEASE);
  }
  bt_tracer_free(t);
  errno = saved;
}

struct loop {
  pthread_t self;
  int ready;             /* __atomic: warmed up, signals may come */
  unsigned long ops;     /* operations the loop traced */
  unsigned long snapshots;
};

/* Before any signal: the thread's storage for the op, so that neither the
 * handler nor the loop needs to allocate in the handler. */
static void prepare(void) {
  assert_status(BT_OK, bt_op_reserve(g_op));
}

static void *tracing_loop(void *arg) {
  struct loop *l = (struct loop *)arg;
  prepare();
  __atomic_store_n(&l->ready, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
    bt_tracer *t = NULL;
    int p;
    assert_status(BT_OK, bt_tracer_new_op(&t, g_op));
    for (p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; p++) {
      assert_status(BT_OK, bt_phase_begin(t, p));
      assert_status(BT_OK, bt_phase_end(t, p));
    }
    assert_status(BT_OK, bt_tracer_add_items(t, 2));
    assert_status(BT_OK, bt_tracer_finish(t));
    bt_tracer_free(t);
    l->ops++;
    if (l->ops % 64 == 0) { /* a snapshot holds every shard's lock in turn */
      bt_snapshot *s = NULL;
      assert_status(BT_OK, bt_metrics_snapshot(&s, g_metrics));
      bt_snapshot_free(s);
      l->snapshots++;
    }
  }
  return NULL;
}

static void test_signals__handler_traces_during_a_storm(void **state) {
  struct sigaction sa;
  struct loop l = {0, 0, 0, 0};
  bt_snapshot *s;
  bt_op_stats st;
  uint64_t nested_now = 0, nested_later = 0, reserve_in_use = 0;
  int i;
  (void)state;
  g_metrics = bt_test_metrics_new();
  assert_status(BT_OK, bt_op_lookup(&g_op, g_metrics, "storm"));
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);

  assert_int_equal(pthread_create(&l.self, NULL, tracing_loop, &l), 0);
  while (!__atomic_load_n(&l.ready, __ATOMIC_ACQUIRE)) sched_yield();
  const int signals = 20000 / bt_test_slowdown();
  for (i = 0; i < signals; i++) {
    const int before = __atomic_load_n(&g_handled, __ATOMIC_ACQUIRE);
    const uint64_t until = bt_clock_now_ns() + 1000000;
    assert_int_equal(pthread_kill(l.self, SIGUSR1), 0);
    /* every other one waits (a little) to be handled: most are, one by one;
     * the others come as fast as they can, a storm. The wait is bounded by
     * time (1 ms), not by yields: on a loaded machine each yield may cost a
     * time slice, and a thousand of them per signal made the test take
     * minutes (a timeout under TSan, not a deadlock). */
    while (i % 2 == 0 && __atomic_load_n(&g_handled, __ATOMIC_ACQUIRE) == before &&
           !__atomic_load_n(&g_handler_failed, __ATOMIC_RELAXED) && bt_clock_now_ns() < until)
      sched_yield();
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
  assert_int_equal(pthread_join(l.self, NULL), 0);

  assert_int_equal(g_handler_failed, 0);
  s = bt_test_snapshot(g_metrics);
  st = bt_test_op_stats(s, "storm");
  bt_testing_nested(&nested_now, &nested_later, &reserve_in_use);
  print_message("%lu loop operations (%lu snapshots), %d handled signals of %d sent; %llu handlers "
                "interrupted the library (%llu recorded at once, %llu when it returned)\n",
                l.ops, l.snapshots, (int)g_handled, signals, (unsigned long long)(nested_now + nested_later),
                (unsigned long long)nested_now, (unsigned long long)nested_later);
  assert_u64_eq(reserve_in_use, 0); /* every tracer went back */
  assert_u64_eq(st.count, l.ops + (uint64_t)g_handled);
  assert_u64_eq(st.items, 2 * l.ops + (uint64_t)g_handled);
  assert_u64_eq(st.gil_releases, (uint64_t)g_handled);
  assert_u64_eq(st.gil_wait_ns, 5 * (uint64_t)g_handled);
  assert_u64_eq(bt_test_phase_stats(s, "storm", BT_PHASE_NETWORK).entries, l.ops + (uint64_t)g_handled);
  assert_u64_eq(bt_test_phase_stats(s, "storm", BT_PHASE_CONVERT).entries, l.ops);
  assert_true(g_handled > 0);
  bt_snapshot_free(s);
  signal(SIGUSR1, SIG_DFL);
  bt_metrics_free(g_metrics);
}

/* ---- one signal, raised where the library allocates inside a guarded
 * region: the handler's record cannot be made at once and waits for the
 * interrupted call to return ------------------------------------------------ */

static bt_op *g_nested_op;
static bt_tracer *g_outside; /* made outside the handler, finished and freed in it */
static volatile sig_atomic_t g_nested_handled, g_nested_failed;

static void on_nested_signal(int sig) {
  int saved = errno;
  bt_tracer *t = NULL;
  bt_timing tm = BT_TIMING_INIT;
  (void)sig;
  if (bt_tracer_new_op(&t, g_nested_op) != BT_OK || bt_phase_begin(t, BT_PHASE_CONVERT) != BT_OK ||
      bt_phase_end(t, BT_PHASE_CONVERT) != BT_OK || bt_tracer_add_items(t, 10) != BT_OK ||
      bt_tracer_finish_timing(&tm, t) != BT_OK || tm.items != 10 || tm.phase_entries[BT_PHASE_CONVERT] != 1 ||
      bt_tracer_finish(t) != BT_E_FINISHED)
    g_nested_failed = 1;
  bt_tracer_free(t);
  if (g_outside) {
    if (bt_tracer_finish(g_outside) != BT_OK) g_nested_failed = 1;
    bt_tracer_free(g_outside); /* not one of the reserve: its release waits too */
    g_outside = NULL;
  }
  g_nested_handled = g_nested_handled + 1;
  errno = saved;
}

static void raise_nested(void) { raise(SIGUSR2); }

/* Traces one operation of `op` with the hook armed: its record makes the
 * op's shard, an allocation inside the record's guarded region, where the
 * signal comes. */
static void trace_with_signal_inside(bt_op *op) {
  bt_tracer *t = NULL;
  g_nested_op = op;
  g_nested_handled = 0;
  bt_testing_on_nested_alloc(raise_nested);
  assert_status(BT_OK, bt_tracer_new_op(&t, op));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  bt_testing_on_nested_alloc(NULL);
  assert_int_equal(g_nested_handled, 1);
  assert_int_equal(g_nested_failed, 0);
}

static int setup_nested(void **state) {
  struct sigaction sa;
  (void)state;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_nested_signal;
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGUSR2, &sa, NULL);
}

static int teardown_nested(void **state) {
  (void)state;
  signal(SIGUSR2, SIG_DFL);
  return 0;
}

/* The record waits: the shard it needs is being made by the code the
 * handler interrupted. It is made when that record returns: both count. */
static void test_signals__record_waits_for_the_interrupted_call(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL;
  uint64_t now0, later0, now1, later1, in_use;
  bt_snapshot *s;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "waits"));
  bt_testing_nested(&now0, &later0, &in_use);
  trace_with_signal_inside(op);
  bt_testing_nested(&now1, &later1, &in_use);
  assert_u64_eq(later1 - later0, 1); /* kept for later, not recorded at once */
  assert_u64_eq(in_use, 0);          /* and its tracer went back */
  s = bt_test_snapshot(m);
  assert_u64_eq(bt_test_op_stats(s, "waits").count, 2);
  assert_u64_eq(bt_test_op_stats(s, "waits").items, 10);
  assert_u64_eq(bt_test_phase_stats(s, "waits", BT_PHASE_CONVERT).entries, 1);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* With the timeline on, an operation finished in the handler is kept in it
 * after the interrupted call returns (its lock is never taken in there). */
static void test_signals__timeline_keeps_the_handlers_operation(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL;
  bt_timeline_info info = BT_TIMELINE_INFO_INIT;
  size_t needed = 0;
  char *json;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "kept_in_timeline"));
  assert_status(BT_OK, bt_timeline_start(8));
  trace_with_signal_inside(op);
  assert_status(BT_OK, bt_timeline_get_info(&info));
  assert_u64_eq(info.kept, 2);
  assert_status(BT_OK, bt_timeline_export(NULL, 0, &needed));
  json = malloc(needed + 1);
  assert_non_null(json);
  assert_status(BT_OK, bt_timeline_export(json, needed + 1, &needed));
  assert_non_null(strstr(json, "\"items\":10,")); /* the handler's operation */
  free(json);
  assert_status(BT_OK, bt_timeline_stop());
  assert_u64_eq(bt_test_count(m, "kept_in_timeline"), 2);
  bt_metrics_free(m);
}

/* A tracer made outside the handler (the thread's spare, from malloc),
 * finished and freed in it: freed later, when the interrupted call returns. */
static void test_signals__outside_tracer_freed_in_the_handler(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL, *other = NULL;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "traced"));
  assert_status(BT_OK, bt_op_lookup(&other, m, "outside"));
  assert_status(BT_OK, bt_op_reserve(other)); /* gives the thread a spare */
  assert_status(BT_OK, bt_tracer_new_op(&g_outside, other));
  trace_with_signal_inside(op);
  assert_null(g_outside);
  assert_u64_eq(bt_test_count(m, "traced"), 2);
  assert_u64_eq(bt_test_count(m, "outside"), 1);
  bt_metrics_free(m);
}

/* ---- bt_op_reserve: afterwards this thread records the operation, any phase
 * and any duration, without allocating (the alloc hook counts) ---------------- */

static void trace_spanning(bt_op *op, uint64_t network_ns) {
  bt_tracer *t = NULL;
  bt_timing tm = BT_TIMING_INIT;
  int p;
  assert_status(BT_OK, bt_tracer_new_op(&t, op));
  for (p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; p++) {
    assert_status(BT_OK, bt_phase_begin(t, p));
    if (p == BT_PHASE_NETWORK && network_ns) bt_test_sleep_ns(network_ns);
    assert_status(BT_OK, bt_phase_end(t, p));
  }
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
}

static void test_signals__reserved_op_records_without_allocating(void **state) {
  static const uint64_t spans[] = {0, 1000, 100000, 5 * BT_TEST_MS, 20 * BT_TEST_MS};
  bt_metrics *m = bt_test_metrics_new();
  bt_op *fresh = NULL, *reserved = NULL;
  size_t i;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&fresh, m, "not_reserved"));
  assert_status(BT_OK, bt_op_lookup(&reserved, m, "reserved"));
  assert_status(BT_E_NULL, bt_op_reserve(NULL));
  bt_testing_alloc_fail(0);
  trace_spanning(fresh, 0);
  assert_true(bt_testing_alloc_fail(0) > 0); /* a first record makes room */
  assert_status(BT_OK, bt_op_reserve(reserved));
  assert_status(BT_OK, bt_op_reserve(reserved)); /* again: nothing changes */
  bt_testing_alloc_fail(0);
  for (i = 0; i < sizeof spans / sizeof spans[0]; i++) trace_spanning(reserved, spans[i]);
  assert_int_equal(bt_testing_alloc_fail(0), 0);
  assert_u64_eq(bt_test_count(m, "reserved"), sizeof spans / sizeof spans[0]);
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signals__reserved_op_records_without_allocating),
      cmocka_unit_test(test_signals__handler_traces_during_a_storm),
      cmocka_unit_test_setup_teardown(test_signals__record_waits_for_the_interrupted_call, setup_nested,
                                      teardown_nested),
      cmocka_unit_test_setup_teardown(test_signals__timeline_keeps_the_handlers_operation, setup_nested,
                                      teardown_nested),
      cmocka_unit_test_setup_teardown(test_signals__outside_tracer_freed_in_the_handler, setup_nested,
                                      teardown_nested),
  };
  return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
