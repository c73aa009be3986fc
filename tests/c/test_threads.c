/* Recording from many threads at once: exact totals, exited threads kept. */
#include "bt_test.h"

#define THREADS 8
#define RECORDS 100000

struct worker {
  bt_metrics *metrics;
  bt_op *op;
  int index;
  int n;
  int failures;       /* statuses other than BT_OK */
  int first_failure;  /* the first such status */
};

static void note(struct worker *w, int status) {
  if (status != BT_OK) {
    if (w->failures++ == 0) w->first_failure = status;
  }
}

static void check_workers(const struct worker *w, int n) {
  int i;
  for (i = 0; i < n; i++) {
    if (w[i].failures != 0) {
      fail_msg("thread %d: %d failed calls, first %s", i, w[i].failures,
               bt_status_name(w[i].first_failure));
    }
  }
}

/* The deterministic timing of record i (same in every thread). */
static bt_timing timing_of(const char *op, int i) {
  bt_timing t = bt_test_timing(op, 1000 + (uint64_t)(i % 1000));
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 100 + (uint64_t)(i % 7), 1);
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 200, i % 3 == 0 ? 2 : 1);
  t.items = 1 + (uint64_t)(i % 5);
  t.gil_releases = 1;
  t.flags = i % 100 == 0 ? BT_TIMING_ERROR : 0;
  return t;
}

static void *record_loop(void *arg) {
  struct worker *w = (struct worker *)arg;
  int i;
  for (i = 0; i < w->n; i++) {
    bt_timing t = timing_of("hot", i);
    note(w, bt_metrics_record(w->metrics, &t));
  }
  return NULL;
}

/* The seed's thread-safety case, scaled up: 8 x 100,000 records, exact sums. */
static void test_threads__record_8x100000_exact(void **state) {
  struct worker w[THREADS];
  bt_metrics *m = bt_test_metrics_new();
  uint64_t total = 0, extract = 0, items = 0, errors = 0, net_entries = 0, min_total = UINT64_MAX,
           max_total = 0;
  bt_snapshot *s;
  bt_op_stats os;
  bt_phase_stats ps;
  int i;
  (void)state;
  memset(w, 0, sizeof w);
  for (i = 0; i < THREADS; i++) {
    w[i].metrics = m;
    w[i].index = i;
    w[i].n = RECORDS;
  }
  bt_test_run_threads(THREADS, record_loop, w, sizeof w[0]);
  check_workers(w, THREADS);

  for (i = 0; i < RECORDS; i++) {
    bt_timing t = timing_of("hot", i);
    total += t.total_ns;
    extract += t.phase_ns[BT_PHASE_EXTRACT];
    items += t.items;
    errors += (t.flags & BT_TIMING_ERROR) != 0;
    net_entries += t.phase_entries[BT_PHASE_NETWORK];
    if (t.total_ns < min_total) min_total = t.total_ns;
    if (t.total_ns > max_total) max_total = t.total_ns;
  }
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "hot");
  assert_u64_eq(os.count, (uint64_t)THREADS * RECORDS);
  assert_u64_eq(os.total_ns, THREADS * total);
  assert_u64_eq(os.items, THREADS * items);
  assert_u64_eq(os.errors, THREADS * errors);
  assert_u64_eq(os.gil_releases, (uint64_t)THREADS * RECORDS);
  assert_u64_eq(os.gil_held_ns, THREADS * extract);
  assert_u64_eq(os.gil_released_ns, (uint64_t)THREADS * RECORDS * 200u);
  assert_u64_eq(os.unattributed_ns, os.total_ns - os.gil_held_ns - os.gil_released_ns);
  ps = bt_test_phase_stats(s, "hot", BT_PHASE_TOTAL);
  assert_u64_eq(ps.count, (uint64_t)THREADS * RECORDS);
  assert_u64_eq(ps.sum_ns, THREADS * total);
  assert_u64_eq(ps.min_ns, min_total);
  assert_u64_eq(ps.max_ns, max_total);
  assert_u64_eq(bt_test_bucket_sum(s, 0, BT_PHASE_TOTAL), (uint64_t)THREADS * RECORDS);
  ps = bt_test_phase_stats(s, "hot", BT_PHASE_EXTRACT);
  assert_u64_eq(ps.count, (uint64_t)THREADS * RECORDS);
  assert_u64_eq(ps.entries, (uint64_t)THREADS * RECORDS);
  assert_u64_eq(ps.sum_ns, THREADS * extract);
  assert_u64_eq(ps.min_ns, 100);
  assert_u64_eq(ps.max_ns, 106);
  ps = bt_test_phase_stats(s, "hot", BT_PHASE_NETWORK);
  assert_u64_eq(ps.entries, THREADS * net_entries);
  assert_u64_eq(bt_test_bucket_sum(s, 0, BT_PHASE_NETWORK), (uint64_t)THREADS * RECORDS);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void *tracer_loop(void *arg) {
  struct worker *w = (struct worker *)arg;
  int i;
  for (i = 0; i < w->n; i++) {
    bt_tracer *t = NULL;
    note(w, bt_tracer_new_op(&t, w->op));
    if (t == NULL) continue;
    note(w, bt_phase_begin(t, BT_PHASE_EXTRACT));
    note(w, bt_phase_end(t, BT_PHASE_EXTRACT));
    note(w, bt_phase_begin(t, BT_PHASE_CONVERT));
    note(w, bt_phase_end(t, BT_PHASE_CONVERT));
    note(w, bt_tracer_add_items(t, 2));
    note(w, bt_tracer_add_gil_release(t));
    if (i % 10 == 0) note(w, bt_tracer_set_error(t));
    note(w, bt_tracer_finish(t));
    bt_tracer_free(t);
  }
  return NULL;
}

/* Full tracers on a bound operation from 8 threads. */
static void test_threads__tracers_8x20000_exact(void **state) {
  struct worker w[THREADS];
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL;
  const uint64_t n = (uint64_t)THREADS * 20000u;
  bt_snapshot *s;
  bt_op_stats os;
  int i;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "traced"));
  memset(w, 0, sizeof w);
  for (i = 0; i < THREADS; i++) {
    w[i].metrics = m;
    w[i].op = op;
    w[i].n = 20000;
  }
  bt_test_run_threads(THREADS, tracer_loop, w, sizeof w[0]);
  check_workers(w, THREADS);
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "traced");
  assert_u64_eq(os.count, n);
  assert_u64_eq(os.items, 2 * n);
  assert_u64_eq(os.gil_releases, n);
  assert_u64_eq(os.errors, n / 10);
  assert_u64_eq(os.left_open, 0);
  assert_u64_eq(os.total_ns, os.unattributed_ns + os.gil_held_ns + os.gil_released_ns);
  assert_u64_eq(bt_test_phase_stats(s, "traced", BT_PHASE_EXTRACT).entries, n);
  assert_u64_eq(bt_test_phase_stats(s, "traced", BT_PHASE_EXTRACT).count, n);
  assert_u64_eq(bt_test_phase_stats(s, "traced", BT_PHASE_CONVERT).entries, n);
  assert_u64_eq(bt_test_phase_stats(s, "traced", BT_PHASE_NETWORK).count, 0);
  assert_u64_eq(bt_test_phase_stats(s, "traced", BT_PHASE_EXTRACT).sum_ns, os.gil_held_ns);
  assert_u64_eq(bt_test_phase_stats(s, "traced", BT_PHASE_TOTAL).sum_ns, os.total_ns);
  assert_u64_eq(bt_test_bucket_sum(s, 0, BT_PHASE_TOTAL), n);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

#define SHARED_OPS 64
#define OPS_REPS 200

static void *many_ops_loop(void *arg) {
  struct worker *w = (struct worker *)arg;
  char own[32];
  int rep, k;
  snprintf(own, sizeof own, "own_%d", w->index);
  for (rep = 0; rep < OPS_REPS; rep++) {
    for (k = 0; k < SHARED_OPS; k++) {
      char name[32];
      bt_timing t;
      /* each thread walks the names in its own order */
      snprintf(name, sizeof name, "shared_%02d", (k + w->index * 7) % SHARED_OPS);
      t = bt_test_timing(name, 10);
      note(w, bt_metrics_record(w->metrics, &t));
    }
    {
      bt_timing t = bt_test_timing(own, 3);
      note(w, bt_metrics_record(w->metrics, &t));
    }
  }
  return NULL;
}

/* Operations created concurrently: one per name, counts exact, sorted. */
static void test_threads__concurrent_operation_creation(void **state) {
  struct worker w[THREADS];
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t n = 0, i;
  int k;
  (void)state;
  memset(w, 0, sizeof w);
  for (k = 0; k < THREADS; k++) {
    w[k].metrics = m;
    w[k].index = k;
  }
  bt_test_run_threads(THREADS, many_ops_loop, w, sizeof w[0]);
  check_workers(w, THREADS);
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  assert_int_equal(n, SHARED_OPS + THREADS);
  for (k = 0; k < SHARED_OPS; k++) {
    char name[32];
    bt_op_stats os;
    snprintf(name, sizeof name, "shared_%02d", k);
    os = bt_test_op_stats(s, name);
    assert_u64_eq(os.count, THREADS * OPS_REPS);
    assert_u64_eq(os.total_ns, THREADS * OPS_REPS * 10);
  }
  for (k = 0; k < THREADS; k++) {
    char name[32];
    snprintf(name, sizeof name, "own_%d", k);
    assert_u64_eq(bt_test_op_stats(s, name).count, OPS_REPS);
  }
  for (i = 1; i < n; i++) {
    bt_op_stats a = BT_OP_STATS_INIT, b = BT_OP_STATS_INIT;
    assert_status(BT_OK, bt_snapshot_op_stats(&a, s, i - 1));
    assert_status(BT_OK, bt_snapshot_op_stats(&b, s, i));
    assert_true(strcmp(a.name, b.name) < 0);
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void *short_lived(void *arg) {
  struct worker *w = (struct worker *)arg;
  int i;
  for (i = 0; i < w->n; i++) {
    bt_timing t = bt_test_timing("exited", 5);
    t.items = 1;
    note(w, bt_metrics_record(w->metrics, &t));
  }
  return NULL; /* the thread exits with its shard */
}

/* Counts recorded by threads that have exited are kept; new threads add to them. */
static void test_threads__exited_threads_counts_kept(void **state) {
  struct worker w[THREADS];
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  int i, batch;
  (void)state;
  memset(w, 0, sizeof w);
  for (i = 0; i < THREADS; i++) {
    w[i].metrics = m;
    w[i].n = 1000;
  }
  bt_test_run_threads(THREADS, short_lived, w, sizeof w[0]);
  check_workers(w, THREADS);
  s = bt_test_snapshot(m);
  assert_u64_eq(bt_test_op_stats(s, "exited").count, THREADS * 1000);
  assert_u64_eq(bt_test_op_stats(s, "exited").items, THREADS * 1000);
  bt_snapshot_free(s);

  /* 64 more short-lived threads, 4 at a time: more threads than any shard table */
  for (batch = 0; batch < 16; batch++) {
    for (i = 0; i < 4; i++) w[i].n = 100;
    bt_test_run_threads(4, short_lived, w, sizeof w[0]);
    check_workers(w, 4);
  }
  assert_u64_eq(bt_test_count(m, "exited"), THREADS * 1000 + 64 * 100);

  /* and the main thread adds to the same totals */
  w[0].n = 10;
  short_lived(&w[0]);
  check_workers(w, 1);
  s = bt_test_snapshot(m);
  assert_u64_eq(bt_test_op_stats(s, "exited").count, THREADS * 1000 + 64 * 100 + 10);
  assert_u64_eq(bt_test_op_stats(s, "exited").total_ns, 5u * (THREADS * 1000 + 64 * 100 + 10));
  assert_u64_eq(bt_test_bucket_sum(s, 0, BT_PHASE_TOTAL), THREADS * 1000 + 64 * 100 + 10);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void *global_loop(void *arg) {
  struct worker *w = (struct worker *)arg;
  int i;
  for (i = 0; i < w->n; i++) {
    bt_tracer *t = NULL;
    note(w, bt_tracer_new(&t, NULL, "threads_global_op"));
    if (t == NULL) continue;
    note(w, bt_tracer_add_items(t, 1));
    note(w, bt_tracer_finish(t));
    bt_tracer_free(t);
  }
  return NULL;
}

/* The global sink from many threads, by name. */
static void test_threads__global_sink_by_name(void **state) {
  struct worker w[THREADS];
  uint64_t before = bt_test_count(NULL, "threads_global_op");
  int i;
  (void)state;
  memset(w, 0, sizeof w);
  for (i = 0; i < THREADS; i++) w[i].n = 5000;
  bt_test_run_threads(THREADS, global_loop, w, sizeof w[0]);
  check_workers(w, THREADS);
  assert_u64_eq(bt_test_count(NULL, "threads_global_op"), before + THREADS * 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads__record_8x100000_exact),
      cmocka_unit_test(test_threads__tracers_8x20000_exact),
      cmocka_unit_test(test_threads__concurrent_operation_creation),
      cmocka_unit_test(test_threads__exited_threads_counts_kept),
      cmocka_unit_test(test_threads__global_sink_by_name),
  };
  return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
