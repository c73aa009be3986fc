/* fork(): the child traces on correctly while the parent's other threads were
 * recording, taking snapshots and registering names at the moment of fork. */
#include "bt_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_stop; /* read and written with __atomic builtins */
static bt_metrics *g_metrics;

static void *recorder(void *arg) {
  bt_op *op;
  (void)arg;
  assert_status(BT_OK, bt_op_lookup(&op, g_metrics, "busy"));
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    bt_tracer *t;
    bt_tracer_new_op(&t, op);
    bt_phase_begin(t, BT_PHASE_CONVERT);
    bt_phase_end(t, BT_PHASE_CONVERT);
    bt_tracer_finish(t);
    bt_tracer_free(t);
  }
  return NULL;
}

static void *scraper(void *arg) {
  int i = 0;
  (void)arg;
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    bt_snapshot *a = NULL, *b = NULL;
    char name[32];
    bt_metrics_take(&a, &b, g_metrics);
    bt_snapshot_free(a);
    bt_snapshot_free(b);
    snprintf(name, sizeof name, "name_%d", i++ % 200); /* new names: the pool's lock */
    bt_tracer *t;
    if (bt_tracer_new(&t, g_metrics, name) == BT_OK) {
      bt_tracer_finish(t);
      bt_tracer_free(t);
    }
  }
  return NULL;
}

static void *child_thread(void *arg) {
  bt_tracer *t;
  (void)arg;
  if (bt_tracer_new(&t, g_metrics, "child_thread_op") != BT_OK) return (void *)1;
  bt_phase_begin(t, BT_PHASE_NETWORK);
  bt_phase_end(t, BT_PHASE_NETWORK);
  bt_tracer_finish(t);
  bt_tracer_free(t);
  return NULL;
}

/* A child stuck for 20 s aborts, so sanitizers print where it hung. */
static void on_alarm(int sig) {
  (void)sig;
  abort();
}

/* In the child: every kind of call must work (a deadlock ends in SIGABRT). */
static int child_work(void) {
  bt_snapshot *s;
  bt_op_stats st = BT_OP_STATS_INIT;
  size_t idx, n;
  bt_phase_id id;
  pthread_t th;
  void *ret;
  bt_tracer *t;
  signal(SIGALRM, on_alarm);
  alarm(20);
  if (bt_tracer_new(&t, g_metrics, "child_op") != BT_OK) return 10;
  bt_phase_begin(t, BT_PHASE_EXTRACT);
  bt_phase_end(t, BT_PHASE_EXTRACT);
  if (bt_tracer_finish(t) != BT_OK) return 11;
  bt_tracer_free(t);
  if (bt_phase_register(&id, "child_phase", 1) != BT_OK) return 12;
  if (pthread_create(&th, NULL, child_thread, NULL) != 0) return 13;
  pthread_join(th, &ret);
  if (ret != NULL) return 14;
  if (bt_metrics_snapshot(&s, g_metrics) != BT_OK) return 15;
  if (bt_snapshot_find(&idx, s, "child_op") != BT_OK) return 16;
  bt_snapshot_op_stats(&st, s, idx);
  if (st.count != 1) return 17;
  if (bt_snapshot_find(&idx, s, "child_thread_op") != BT_OK) return 18;
  /* shards sane: every operation's count equals its bucket sum */
  bt_snapshot_op_count(&n, s);
  for (idx = 0; idx < n; idx++) {
    bt_snapshot_op_stats(&st, s, idx);
    if (bt_test_bucket_sum(s, idx, BT_PHASE_TOTAL) != st.count) return 19;
  }
  bt_snapshot_free(s);
  return 0;
}

static void test_fork__child_traces_while_parent_threads_were_busy(void **state) {
  pthread_t th[3];
  int i, k;
  (void)state;
  g_metrics = bt_test_metrics_new();
  __atomic_store_n(&g_stop, 0, __ATOMIC_RELAXED);
  pthread_create(&th[0], NULL, recorder, NULL);
  pthread_create(&th[1], NULL, recorder, NULL);
  pthread_create(&th[2], NULL, scraper, NULL);
  for (k = 0; k < 30; k++) {
    int status = 0;
    pid_t pid;
    bt_test_sleep_ns(2000000);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child_work());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fail_msg("fork %d: child %s %d", k, WIFSIGNALED(status) ? "killed by signal" : "exited with",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  for (i = 0; i < 3; i++) pthread_join(th[i], NULL);
  /* the parent is unharmed: its records still add up */
  {
    bt_snapshot *s = bt_test_snapshot(g_metrics);
    size_t idx = bt_test_index(s, "busy");
    bt_op_stats st = bt_test_op_stats(s, "busy");
    assert_true(st.count > 0);
    assert_u64_eq(bt_test_bucket_sum(s, idx, BT_PHASE_TOTAL), st.count);
    bt_snapshot_free(s);
  }
  bt_metrics_free(g_metrics);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork__child_traces_while_parent_threads_were_busy),
  };
  return cmocka_run_group_tests_name("fork", tests, NULL, NULL);
}
