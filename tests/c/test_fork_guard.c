/* The fork guard (cpp_impl/fork_guard.cpp) against a thread that is inside
 * the library when another one forks. Linked to the test-only library, whose
 * hooks run the guard's handlers without a fork (bt_testing_fork_prepare,
 * bt_testing_fork_release) and stop a thread at a point inside the library
 * (bt_testing_on_spare_key).
 *
 * Without arguments (c_fork_guard) nothing forks, so it runs under the
 * sanitizers too: while the guard holds every lock of the library, as it does
 * between the halves of a fork, a thread's call that would take a lock (or
 * make a shard a snapshot folds in) must not get through. Each check lets the
 * thread run for a while with the locks held; a call that finished meanwhile
 * fails the test.
 *
 * With --fork (c_fork_guard_child, kept out of the instrumented runs like
 * c_fork: it forks while another thread runs) a real fork while a thread
 * holds the spare-tracer key's mutex; the child must not inherit it locked. */
#include "bt_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Test-only (cpp_impl/test_hooks.cpp). */
void bt_testing_on_spare_key(void (*fn)(void));
void bt_testing_on_nested_alloc(void (*fn)(void));
void bt_testing_fork_prepare(void);
void bt_testing_fork_release(void);

/* How long a thread may run while the guard holds the locks: a call that
 * does not wait for them ends in microseconds. */
#define HELD_NS (300 * BT_TEST_MS)

static bt_metrics *g_metrics;
static bt_op *g_op; /* made before the locks are taken: an op's creation takes its Metrics' lock */

static void record(const char *name) {
  bt_timing t = bt_test_timing(name, 1000);
  assert_status(BT_OK, bt_metrics_record(g_metrics, &t));
}

/* Waits until *flag is set or `ns` have passed; returns the flag. */
static int wait_flag(const int *flag, uint64_t ns) {
  const uint64_t end = bt_test_mono_ns() + ns;
  while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && bt_test_mono_ns() < end) bt_test_sleep_ns(BT_TEST_MS);
  return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* A thread that runs `before` freely, then `during` once the main thread
 * holds every lock of the library through the guard. */
struct worker {
  void (*before)(void);
  void (*during)(void);
  int ready, go, done; /* __atomic */
};

static void *worker_main(void *p) {
  struct worker *w = (struct worker *)p;
  if (w->before) w->before();
  __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&w->go, __ATOMIC_ACQUIRE)) bt_test_sleep_ns(BT_TEST_MS);
  w->during();
  __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Fails when `during` finished while the guard held the locks. The main
 * thread calls nothing of the library (nor an assertion) in between. */
static void run_while_guard_holds(void (*before)(void), void (*during)(void), const char *what) {
  struct worker w = {before, during, 0, 0, 0};
  pthread_t th;
  int got_through;
  assert_int_equal(0, pthread_create(&th, NULL, worker_main, &w));
  if (!wait_flag(&w.ready, 20000 * BT_TEST_MS)) fail_msg("the thread never got ready");
  bt_testing_fork_prepare();
  __atomic_store_n(&w.go, 1, __ATOMIC_RELEASE);
  got_through = wait_flag(&w.done, HELD_NS);
  bt_testing_fork_release();
  assert_int_equal(0, pthread_join(th, NULL)); /* it goes on once the locks are free */
  if (got_through) fail_msg("%s got through while the fork guard held every lock of the library", what);
}

static void setup_metrics(void) {
  g_metrics = bt_test_metrics_new();
  /* the op exists and the clock is calibrated before the locks are taken */
  assert_status(BT_OK, bt_op_lookup(&g_op, g_metrics, "guarded"));
  record("guarded");
}

/* --- the spare-tracer key's mutex ------------------------------------------ */

/* A thread's first tracer free registers its spare tracer's key, under a
 * mutex: the guard holds it too, so the free waits. */
static void first_free(void) {
  bt_tracer *t;
  assert_status(BT_OK, bt_tracer_new_op(&t, g_op));
  bt_tracer_free(t); /* not finished: nothing to record, only the spare to keep */
}

static void test_guard__holds_the_spare_key_mutex(void **state) {
  (void)state;
  setup_metrics();
  run_while_guard_holds(NULL, first_free, "a thread's first bt_tracer_free");
  bt_metrics_free(g_metrics);
}

/* --- shards: none made (or first used) while the guard holds the locks ------ */

/* The guard locks the shards present when it looks and unlocks those present
 * at the end; a shard made in between would be unlocked without having been
 * locked, under its thread's record, and a snapshot then runs beside it. So
 * no shard may be made meanwhile: a thread's first record of an op and a
 * bt_op_reserve wait for the guard. */

/* The thread's slot, its spare tracer and the clock's calibration, through
 * another op: so what follows needs no lock but the one it is about. */
static void warm_up(void) {
  bt_tracer *t;
  assert_status(BT_OK, bt_tracer_new(&t, g_metrics, "warm_up"));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
}

static void first_record(void) { record("guarded"); }

static void reserve(void) { assert_status(BT_OK, bt_op_reserve(g_op)); }

static void test_guard__no_shard_made_while_held(void **state) {
  bt_snapshot *s;
  size_t idx;
  (void)state;
  setup_metrics();
  run_while_guard_holds(warm_up, first_record, "a thread's first record of an op (a new shard)");
  /* the record is whole in what follows */
  s = bt_test_snapshot(g_metrics);
  idx = bt_test_index(s, "guarded");
  assert_u64_eq(bt_test_op_stats(s, "guarded").count, 2);
  assert_u64_eq(bt_test_bucket_sum(s, idx, BT_PHASE_TOTAL), 2);
  bt_snapshot_free(s);
  bt_metrics_free(g_metrics);
}

static void test_guard__no_reserved_shards_made_while_held(void **state) {
  (void)state;
  setup_metrics();
  run_while_guard_holds(warm_up, reserve, "bt_op_reserve of an op new to the thread (a shard and a side shard)");
  assert_u64_eq(bt_test_count(g_metrics, "guarded"), 1);
  bt_metrics_free(g_metrics);
}

/* The harm itself: a thread's first record of an op, begun while the guard
 * holds the locks, and a snapshot right after the guard lets go. The record
 * stops holding its new shard's lock (at the allocation of the shard's
 * storage, through bt_testing_on_nested_alloc); the snapshot, taken once
 * the record holds that lock, must wait for it, not fold in a record half
 * made. */
static int g_go_on, g_in_record, g_held_in_record; /* __atomic */

static void record_stops_holding_shard(void) {
  __atomic_store_n(&g_in_record, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&g_held_in_record, 1, __ATOMIC_RELEASE);
  wait_flag(&g_go_on, 1000 * BT_TEST_MS); /* a snapshot that waits for it gets it after 1 s */
  __atomic_store_n(&g_in_record, 0, __ATOMIC_RELEASE); /* still holding the lock */
}

/* The first allocation in a guarded region is the shard's; the next, the
 * shard's storage, under its lock. */
static void shard_made(void) { bt_testing_on_nested_alloc(record_stops_holding_shard); }

static void first_record_stopping(void) {
  bt_testing_on_nested_alloc(shard_made);
  record("guarded");
}

static void test_guard__snapshot_after_it_waits_for_a_record_begun_during_it(void **state) {
  struct worker w = {warm_up, first_record_stopping, 0, 0, 0};
  pthread_t th;
  bt_snapshot *s;
  int overlapped;
  (void)state;
  setup_metrics();
  __atomic_store_n(&g_go_on, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_in_record, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_held_in_record, 0, __ATOMIC_RELAXED);
  assert_int_equal(0, pthread_create(&th, NULL, worker_main, &w));
  if (!wait_flag(&w.ready, 20000 * BT_TEST_MS)) fail_msg("the thread never got ready");
  bt_testing_fork_prepare();
  __atomic_store_n(&w.go, 1, __ATOMIC_RELEASE);
  wait_flag(&g_held_in_record, HELD_NS); /* or it waits for the guard, as it should */
  bt_testing_fork_release();
  if (!wait_flag(&g_held_in_record, 20000 * BT_TEST_MS)) fail_msg("the record never took its shard's lock");
  assert_status(BT_OK, bt_metrics_snapshot(&s, g_metrics));
  overlapped = __atomic_load_n(&g_in_record, __ATOMIC_ACQUIRE);
  __atomic_store_n(&g_go_on, 1, __ATOMIC_RELEASE);
  assert_int_equal(0, pthread_join(th, NULL));
  bt_testing_on_nested_alloc(NULL);
  bt_snapshot_free(s);
  if (overlapped) fail_msg("a snapshot ran while a record held its shard's lock (the guard had unlocked it)");
  assert_u64_eq(bt_test_count(g_metrics, "guarded"), 2);
  bt_metrics_free(g_metrics);
}

/* --- fork for real (--fork) ------------------------------------------------- */

static int g_inside, g_forked; /* __atomic */

/* Runs in the thread, holding the spare key's mutex: stays until the parent
 * has forked, or 2 s (with the guard taking the mutex, the fork waits for
 * this thread, which then goes on by itself). */
static void pause_holding_spare_key(void) {
  __atomic_store_n(&g_inside, 1, __ATOMIC_RELEASE);
  wait_flag(&g_forked, 2000 * BT_TEST_MS);
}

static void *first_free_paused(void *arg) {
  (void)arg;
  bt_testing_on_spare_key(pause_holding_spare_key);
  first_free();
  return NULL;
}

static void on_alarm(int sig) {
  static const char msg[] = "child: stuck for 10 s (deadlock)\n";
  (void)sig;
  if (write(2, msg, sizeof msg - 1) < 0) _exit(98);
  _exit(99);
}

static void test_fork__while_a_thread_registers_its_spare_key(void **state) {
  pthread_t th;
  pid_t pid;
  int status = 0;
  (void)state;
  setup_metrics();
  /* This thread frees no tracer before the fork: in the child its first free
   * registers the key, so it takes the mutex. */
  __atomic_store_n(&g_inside, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_forked, 0, __ATOMIC_RELAXED);
  assert_int_equal(0, pthread_create(&th, NULL, first_free_paused, NULL));
  if (!wait_flag(&g_inside, 20000 * BT_TEST_MS)) fail_msg("the thread never reached the spare key");
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGALRM, on_alarm);
    alarm(10);
    first_free();
    _exit(0);
  }
  __atomic_store_n(&g_forked, 1, __ATOMIC_RELEASE);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_int_equal(0, pthread_join(th, NULL));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail_msg("child %s %d (99: its first bt_tracer_free deadlocked on the spare key's mutex)",
             WIFSIGNALED(status) ? "killed by signal" : "exited with",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  bt_metrics_free(g_metrics);
}

int main(int argc, char **argv) {
  const struct CMUnitTest held[] = {
      cmocka_unit_test(test_guard__holds_the_spare_key_mutex),
      cmocka_unit_test(test_guard__no_shard_made_while_held),
      cmocka_unit_test(test_guard__no_reserved_shards_made_while_held),
      cmocka_unit_test(test_guard__snapshot_after_it_waits_for_a_record_begun_during_it),
  };
  const struct CMUnitTest forking[] = {
      cmocka_unit_test(test_fork__while_a_thread_registers_its_spare_key),
  };
  if (argc > 1 && strcmp(argv[1], "--fork") == 0) {
    return cmocka_run_group_tests_name("fork_guard_child", forking, NULL, NULL);
  }
  return cmocka_run_group_tests_name("fork_guard", held, NULL, NULL);
}
