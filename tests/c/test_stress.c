/* Under load: 8 threads finish tracers as fast as they can while another
 * takes snapshots and interval takes in a loop, for a bounded time
 * (BT_STRESS_SECONDS, default 3). Afterwards the intervals plus the final
 * take add up to the tracers that finished, exactly; every snapshot seen on
 * the way had each operation's count equal to its histogram's bucket sum and
 * a cumulative count that never went down. */
#include "bt_test.h"

#define WRITERS 8

static bt_metrics *g_m;
static int g_stop; /* read and written with __atomic builtins */

struct writer {
  int index;
  uint64_t finished;
};

static void *writer_main(void *arg) {
  struct writer *w = (struct writer *)arg;
  bt_op *op;
  char name[16];
  snprintf(name, sizeof name, "op%d", w->index % 3); /* three names, shared by threads */
  assert_status(BT_OK, bt_op_lookup(&op, g_m, name));
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    bt_tracer *t;
    if (bt_tracer_new_op(&t, op) != BT_OK) continue;
    bt_phase_begin(t, w->finished % 4);
    bt_phase_end(t, w->finished % 4);
    bt_tracer_add_items(t, 1);
    if (bt_tracer_finish(t) == BT_OK) w->finished++;
    bt_tracer_free(t);
  }
  return NULL;
}

static uint64_t total_count(const bt_snapshot *s, int check_buckets) {
  size_t n, i;
  uint64_t sum = 0;
  bt_snapshot_op_count(&n, s);
  for (i = 0; i < n; i++) {
    bt_op_stats st = BT_OP_STATS_INIT;
    bt_snapshot_op_stats(&st, s, i);
    if (check_buckets) {
      assert_u64_eq(bt_test_bucket_sum(s, i, BT_PHASE_TOTAL), st.count);
      assert_u64_eq(st.items, st.count);
    }
    sum += st.count;
  }
  return sum;
}

static void test_stress__takes_add_up_to_every_finished_tracer(void **state) {
  pthread_t th[WRITERS];
  struct writer w[WRITERS];
  const char *env = getenv("BT_STRESS_SECONDS");
  double seconds = env ? atof(env) : 3.0;
  uint64_t start = bt_test_mono_ns(), taken = 0, last_cumulative = 0, finished = 0, rounds = 0;
  bt_snapshot *iv, *cum;
  int i;
  (void)state;
  g_m = bt_test_metrics_new();
  __atomic_store_n(&g_stop, 0, __ATOMIC_RELAXED);
  for (i = 0; i < WRITERS; i++) {
    w[i].index = i;
    w[i].finished = 0;
    assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
  }
  while (bt_test_mono_ns() - start < (uint64_t)(seconds * 1e9)) {
    bt_snapshot *s;
    uint64_t c;
    assert_status(BT_OK, bt_metrics_snapshot(&s, g_m));
    c = total_count(s, 1);
    assert_true(c >= last_cumulative);
    bt_snapshot_free(s);
    assert_status(BT_OK, bt_metrics_take(&iv, &cum, g_m));
    taken += total_count(iv, 1);
    c = total_count(cum, 1);
    assert_true(c >= last_cumulative);
    assert_u64_eq(c, taken); /* the cumulative view at the take's instant */
    last_cumulative = c;
    bt_snapshot_free(iv);
    bt_snapshot_free(cum);
    rounds++;
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
  for (i = 0; i < WRITERS; i++) {
    pthread_join(th[i], NULL);
    finished += w[i].finished;
  }
  assert_status(BT_OK, bt_metrics_take(&iv, &cum, g_m));
  taken += total_count(iv, 1);
  assert_u64_eq(taken, finished);
  assert_u64_eq(total_count(cum, 1), finished);
  bt_snapshot_free(iv);
  bt_snapshot_free(cum);
  print_message("stress: %" PRIu64 " tracers finished by %d threads in %.1f s, %" PRIu64
                " snapshot+take rounds; takes add up exactly\n",
                finished, WRITERS, seconds, rounds);
  bt_metrics_free(g_m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stress__takes_add_up_to_every_finished_tracer),
  };
  return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
