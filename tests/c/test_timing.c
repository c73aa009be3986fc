/* Timing calculations: derived figures of a recorded bt_timing. */
#include "bt_test.h"

/* The seed's calculation case with exact values through bt_metrics_record. */
static void test_timing__derived_gil_and_unattributed(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("calc", 1500);
  bt_snapshot *s;
  bt_op_stats os;
  (void)state;
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 100, 1);
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 200, 1);
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 300, 1);
  bt_test_set_phase(&t, BT_PHASE_MATERIALIZE, 400, 1);
  /* derived fields are the library's to compute: garbage here is ignored */
  t.gil_held_ns = 77777;
  t.gil_released_ns = 88888;
  t.unattributed_ns = 99999;
  assert_status(BT_OK, bt_metrics_record(m, &t));

  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "calc");
  assert_u64_eq(os.count, 1);
  assert_u64_eq(os.total_ns, 1500);
  assert_u64_eq(os.gil_held_ns, 100 + 400);     /* extract + materialize */
  assert_u64_eq(os.gil_released_ns, 200 + 300); /* convert + network */
  assert_u64_eq(os.unattributed_ns, 1500 - 1000);
  assert_u64_eq(os.gil_wait_ns, 0);
  assert_u64_eq(os.errors, 0);
  assert_u64_eq(os.left_open, 0);
  {
    static const uint64_t want[4] = {100, 200, 300, 400};
    static const int32_t held[4] = {1, 0, 0, 1};
    static const char *const names[4] = {"extract", "convert", "network", "materialize"};
    bt_phase_id p;
    for (p = 0; p < 4; p++) {
      bt_phase_stats ps = bt_test_phase_stats(s, "calc", p);
      assert_string_equal(ps.name, names[p]);
      assert_int_equal(ps.gil_held, held[p]);
      assert_u64_eq(ps.count, 1);
      assert_u64_eq(ps.entries, 1);
      assert_u64_eq(ps.sum_ns, want[p]);
      assert_u64_eq(ps.min_ns, want[p]);
      assert_u64_eq(ps.max_ns, want[p]);
    }
  }
  {
    bt_phase_stats ps = bt_test_phase_stats(s, "calc", BT_PHASE_TOTAL);
    assert_string_equal(ps.name, "total");
    assert_int_equal(ps.gil_held, -1);
    assert_u64_eq(ps.count, 1);
    assert_u64_eq(ps.sum_ns, 1500);
    assert_u64_eq(ps.min_ns, 1500);
    assert_u64_eq(ps.max_ns, 1500);
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* items, GIL wait and releases, workers, error and left-open flags are summed. */
static void test_timing__counters_and_flags(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("flags", 1000);
  bt_snapshot *s;
  bt_op_stats os;
  (void)state;
  t.items = 10;
  t.gil_wait_ns = 33;
  t.gil_releases = 4;
  t.workers = 3;
  t.flags = BT_TIMING_ERROR | BT_TIMING_PHASE_LEFT_OPEN;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  t.items = 5;
  t.gil_wait_ns = 7;
  t.gil_releases = 1;
  t.workers = 0;
  t.flags = 0;
  assert_status(BT_OK, bt_metrics_record(m, &t));

  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "flags");
  assert_u64_eq(os.count, 2);
  assert_u64_eq(os.errors, 1);
  assert_u64_eq(os.left_open, 1);
  assert_u64_eq(os.items, 15);
  assert_u64_eq(os.gil_wait_ns, 40);
  assert_u64_eq(os.gil_releases, 5);
  assert_u64_eq(os.parallel_ops, 1);
  assert_int_equal(os.workers_max, 3);
  /* 2 x 1000 ns with no phase: the rest is the wait and the unattributed time */
  assert_u64_eq(os.unattributed_ns, 2000 - 40);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* phase_count of an input timing is derived and ignored (0 here). */
static void test_timing__input_phase_count_ignored(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("no_count", 900);
  bt_snapshot *s;
  (void)state;
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 600, 2);
  t.phase_count = 0;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  assert_u64_eq(bt_test_phase_stats(s, "no_count", BT_PHASE_NETWORK).sum_ns, 600);
  assert_u64_eq(bt_test_phase_stats(s, "no_count", BT_PHASE_NETWORK).entries, 2);
  assert_u64_eq(bt_test_op_stats(s, "no_count").gil_released_ns, 600);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Phases filling the whole operation leave nothing unattributed. */
static void test_timing__phases_equal_total(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("full", 1000);
  bt_snapshot *s;
  bt_op_stats os;
  (void)state;
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 250, 1);
  bt_test_set_phase(&t, BT_PHASE_MATERIALIZE, 750, 4);
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "full");
  assert_u64_eq(os.unattributed_ns, 0);
  assert_u64_eq(os.gil_held_ns, 1000);
  assert_u64_eq(os.gil_released_ns, 0);
  assert_u64_eq(bt_test_phase_stats(s, "full", BT_PHASE_MATERIALIZE).entries, 4);
  assert_u64_eq(bt_test_phase_stats(s, "full", BT_PHASE_CONVERT).count, 0);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* A phase neither timed nor entered is not a sample of that phase. */
static void test_timing__untouched_phase_has_no_samples(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("sparse", 500);
  bt_snapshot *s;
  bt_phase_stats ps;
  (void)state;
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 100, 1);
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  ps = bt_test_phase_stats(s, "sparse", BT_PHASE_EXTRACT);
  assert_u64_eq(ps.count, 0);
  assert_u64_eq(ps.entries, 0);
  assert_u64_eq(ps.sum_ns, 0);
  assert_u64_eq(ps.min_ns, 0);
  assert_u64_eq(ps.max_ns, 0);
  assert_u64_eq(ps.p50_ns, 0);
  assert_u64_eq(ps.p999_ns, 0);
  assert_u64_eq(bt_test_phase_stats(s, "sparse", BT_PHASE_CONVERT).count, 1);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* A tracer's timing recorded again elsewhere gives the same aggregates. */
static void test_timing__tracer_timing_round_trips_through_record(void **state) {
  bt_metrics *a = bt_test_metrics_new();
  bt_metrics *b = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = NULL;
  bt_snapshot *sa, *sb;
  bt_op_stats oa, ob;
  bt_phase_id p;
  (void)state;
  assert_status(BT_OK, bt_tracer_new(&t, a, "round_trip"));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_NETWORK));
  bt_test_sleep_ns(BT_TEST_MS);
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_NETWORK));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_tracer_add_items(t, 9));
  assert_status(BT_OK, bt_tracer_add_gil_release(t));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, 12));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  /* the timing's own invariants */
  assert_u64_eq(tm.total_ns, tm.unattributed_ns + tm.gil_held_ns + tm.gil_released_ns + tm.gil_wait_ns);

  assert_status(BT_OK, bt_metrics_record(b, &tm));
  sa = bt_test_snapshot(a);
  sb = bt_test_snapshot(b);
  oa = bt_test_op_stats(sa, "round_trip");
  ob = bt_test_op_stats(sb, "round_trip");
  assert_u64_eq(ob.count, oa.count);
  assert_u64_eq(ob.items, 9);
  assert_u64_eq(ob.items, oa.items);
  assert_u64_eq(ob.total_ns, oa.total_ns);
  assert_u64_eq(ob.gil_held_ns, oa.gil_held_ns);
  assert_u64_eq(ob.gil_released_ns, oa.gil_released_ns);
  assert_u64_eq(ob.unattributed_ns, oa.unattributed_ns);
  assert_u64_eq(ob.gil_wait_ns, oa.gil_wait_ns);
  assert_u64_eq(ob.gil_releases, oa.gil_releases);
  for (p = 0; p < 4; p++) {
    bt_phase_stats pa = bt_test_phase_stats(sa, "round_trip", p);
    bt_phase_stats pb = bt_test_phase_stats(sb, "round_trip", p);
    assert_u64_eq(pb.count, pa.count);
    assert_u64_eq(pb.entries, pa.entries);
    assert_u64_eq(pb.sum_ns, pa.sum_ns);
  }
  assert_u64_eq(bt_test_phase_stats(sb, "round_trip", BT_PHASE_EXTRACT).entries, 2);
  bt_snapshot_free(sa);
  bt_snapshot_free(sb);
  bt_metrics_free(a);
  bt_metrics_free(b);
}

/* A caller built against a newer header passes a longer struct: it works. */
static void test_timing__record_larger_struct_size_works(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  union {
    bt_timing t;
    unsigned char bytes[sizeof(bt_timing) + 64];
  } big;
  bt_snapshot *s;
  (void)state;
  memset(&big, 0, sizeof big);
  big.t = bt_test_timing("newer_caller", 400);
  big.t.struct_size = sizeof big;
  bt_test_set_phase(&big.t, BT_PHASE_CONVERT, 300, 1);
  assert_status(BT_OK, bt_metrics_record(m, &big.t));
  s = bt_test_snapshot(m);
  assert_u64_eq(bt_test_op_stats(s, "newer_caller").count, 1);
  assert_u64_eq(bt_test_op_stats(s, "newer_caller").gil_released_ns, 300);
  assert_u64_eq(bt_test_op_stats(s, "newer_caller").unattributed_ns, 100);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* The GIL wait is a distribution of its own (BT_PHASE_GIL_WAIT): one sample
 * per operation that released the GIL, its entries the releases; it comes
 * out of the unattributed time, never below 0. */
static void test_timing__gil_wait_is_its_own_distribution(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_op_stats os;
  bt_phase_stats ws;
  bt_bucket buckets[64];
  size_t nb = 0, i;
  uint64_t sum = 0, q = 0;
  int k;
  (void)state;
  for (k = 1; k <= 100; k++) { /* waits of 100, 200, ... 10000 ns over 2 releases each */
    bt_timing t = bt_test_timing("wait", 20000);
    bt_test_set_phase(&t, BT_PHASE_CONVERT, 5000, 1);
    t.gil_releases = 2;
    t.gil_wait_ns = (uint64_t)k * 100;
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  {
    bt_timing t = bt_test_timing("wait", 20000); /* never released: no sample */
    assert_status(BT_OK, bt_metrics_record(m, &t));
    t = bt_test_timing("wait", 1000); /* a wait past the rest: unattributed stops at 0 */
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, 900, 1);
    t.gil_releases = 1;
    t.gil_wait_ns = 500;
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "wait");
  assert_u64_eq(os.count, 102);
  assert_u64_eq(os.gil_releases, 201);
  assert_u64_eq(os.gil_wait_ns, 505000 + 500);
  /* total 101 x 20000 + 1000; phases 100 x 5000 + 900; the wait comes out of the rest */
  assert_u64_eq(os.unattributed_ns, 101 * 20000 + 1000 - (500000 + 900) - 505500);

  ws = bt_test_phase_stats(s, "wait", BT_PHASE_GIL_WAIT);
  assert_string_equal(ws.name, "GIL wait");
  assert_int_equal(ws.phase, BT_PHASE_GIL_WAIT);
  assert_int_equal(ws.gil_held, -1);
  assert_u64_eq(ws.count, 101);
  assert_u64_eq(ws.entries, 201);
  assert_u64_eq(ws.sum_ns, 505500);
  assert_u64_eq(ws.min_ns, 100);
  assert_u64_eq(ws.max_ns, 10000);
  /* the median of 100..10000 (and one 500) is 5000, within the 2.2 % bucket error */
  assert_true(ws.p50_ns >= 4890 && ws.p50_ns <= 5110);
  assert_true(ws.p99_ns >= 9680 && ws.p99_ns <= 10000);
  assert_status(BT_OK, bt_snapshot_quantile(&q, s, 0, BT_PHASE_GIL_WAIT, 1.0));
  assert_u64_eq(q, 10000);
  assert_status(BT_OK, bt_snapshot_buckets(buckets, 64, &nb, s, 0, BT_PHASE_GIL_WAIT));
  assert_true(nb <= 64);
  for (i = 0; i < nb; i++) sum += buckets[i].count;
  assert_u64_eq(sum, 101);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* An operation that never released the GIL has an empty wait distribution. */
static void test_timing__no_release_no_wait_samples(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("held", 300);
  bt_snapshot *s;
  bt_phase_stats ws;
  size_t nb = 1;
  (void)state;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  ws = bt_test_phase_stats(s, "held", BT_PHASE_GIL_WAIT);
  assert_u64_eq(ws.count, 0);
  assert_u64_eq(ws.sum_ns, 0);
  assert_u64_eq(ws.p99_ns, 0);
  assert_status(BT_OK, bt_snapshot_buckets(NULL, 0, &nb, s, 0, BT_PHASE_GIL_WAIT));
  assert_int_equal(nb, 0);
  assert_u64_eq(bt_test_op_stats(s, "held").unattributed_ns, 300);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timing__derived_gil_and_unattributed),
      cmocka_unit_test(test_timing__counters_and_flags),
      cmocka_unit_test(test_timing__input_phase_count_ignored),
      cmocka_unit_test(test_timing__phases_equal_total),
      cmocka_unit_test(test_timing__untouched_phase_has_no_samples),
      cmocka_unit_test(test_timing__tracer_timing_round_trips_through_record),
      cmocka_unit_test(test_timing__record_larger_struct_size_works),
      cmocka_unit_test(test_timing__gil_wait_is_its_own_distribution),
      cmocka_unit_test(test_timing__no_release_no_wait_samples),
  };
  return cmocka_run_group_tests_name("timing", tests, NULL, NULL);
}
