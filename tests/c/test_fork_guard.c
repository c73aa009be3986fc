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
  };
  const struct CMUnitTest forking[] = {
      cmocka_unit_test(test_fork__while_a_thread_registers_its_spare_key),
  };
  if (argc > 1 && strcmp(argv[1], "--fork") == 0) {
    return cmocka_run_group_tests_name("fork_guard_child", forking, NULL, NULL);
  }
  return cmocka_run_group_tests_name("fork_guard", held, NULL, NULL);
}
