/* Metrics sinks: aggregation, operations by name, snapshots, reset. */
#include "bt_test.h"

static void record(bt_metrics *m, const char *op, uint64_t total, uint64_t extract,
                   uint64_t network, uint64_t items) {
  bt_timing t = bt_test_timing(op, total);
  if (extract) bt_test_set_phase(&t, BT_PHASE_EXTRACT, extract, 1);
  if (network) bt_test_set_phase(&t, BT_PHASE_NETWORK, network, 1);
  t.items = items;
  assert_status(BT_OK, bt_metrics_record(m, &t));
}

/* The seed's aggregation case: sums, min, max and count are exact. */
static void test_metrics__aggregates_exact(void **state) {
  static const uint64_t totals[5] = {1000, 5000, 2000, 9000, 3000};
  static const uint64_t extracts[5] = {100, 700, 200, 50, 300};
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_op_stats os;
  bt_phase_stats ps;
  int i;
  (void)state;
  for (i = 0; i < 5; i++) record(m, "find", totals[i], extracts[i], 10 * (uint64_t)(i + 1), (uint64_t)i + 1);

  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "find");
  assert_u64_eq(os.count, 5);
  assert_u64_eq(os.items, 15);
  assert_u64_eq(os.total_ns, 20000);
  assert_u64_eq(os.gil_held_ns, 1350);
  assert_u64_eq(os.gil_released_ns, 150);
  assert_u64_eq(os.unattributed_ns, 20000 - 1350 - 150);

  ps = bt_test_phase_stats(s, "find", BT_PHASE_TOTAL);
  assert_u64_eq(ps.count, 5);
  assert_u64_eq(ps.sum_ns, 20000);
  assert_u64_eq(ps.min_ns, 1000);
  assert_u64_eq(ps.max_ns, 9000);

  ps = bt_test_phase_stats(s, "find", BT_PHASE_EXTRACT);
  assert_u64_eq(ps.count, 5);
  assert_u64_eq(ps.entries, 5);
  assert_u64_eq(ps.sum_ns, 1350);
  assert_u64_eq(ps.min_ns, 50);
  assert_u64_eq(ps.max_ns, 700);

  ps = bt_test_phase_stats(s, "find", BT_PHASE_NETWORK);
  assert_u64_eq(ps.count, 5);
  assert_u64_eq(ps.sum_ns, 150);
  assert_u64_eq(ps.min_ns, 10);
  assert_u64_eq(ps.max_ns, 50);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Each name is its own operation. */
static void test_metrics__operations_kept_apart_by_name(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t n = 0;
  (void)state;
  record(m, "insert", 100, 0, 0, 1);
  record(m, "insert", 300, 0, 0, 1);
  record(m, "update", 1000, 0, 0, 7);
  record(m, "Insert", 5, 0, 0, 0); /* names are case-sensitive */
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  assert_int_equal(n, 3);
  assert_u64_eq(bt_test_op_stats(s, "insert").count, 2);
  assert_u64_eq(bt_test_op_stats(s, "insert").total_ns, 400);
  assert_u64_eq(bt_test_op_stats(s, "insert").items, 2);
  assert_u64_eq(bt_test_op_stats(s, "update").count, 1);
  assert_u64_eq(bt_test_op_stats(s, "update").total_ns, 1000);
  assert_u64_eq(bt_test_op_stats(s, "update").items, 7);
  assert_u64_eq(bt_test_op_stats(s, "Insert").total_ns, 5);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Snapshot operations are sorted by name; bt_snapshot_find gives their index. */
static void test_metrics__snapshot_sorted_by_name(void **state) {
  static const char *const recorded[6] = {"zeta", "alpha", "mike", "bravo", "alpha2", "b"};
  static const char *const sorted[6] = {"alpha", "alpha2", "b", "bravo", "mike", "zeta"};
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t n = 0, i;
  (void)state;
  for (i = 0; i < 6; i++) record(m, recorded[i], 100 + i, 0, 0, i);
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  assert_int_equal(n, 6);
  for (i = 0; i < 6; i++) {
    bt_op_stats os = BT_OP_STATS_INIT;
    size_t index = 99;
    assert_status(BT_OK, bt_snapshot_op_stats(&os, s, i));
    assert_string_equal(os.name, sorted[i]);
    assert_status(BT_OK, bt_snapshot_find(&index, s, sorted[i]));
    assert_int_equal(index, i);
  }
  /* each record landed under its own name */
  for (i = 0; i < 6; i++) assert_u64_eq(bt_test_op_stats(s, recorded[i]).total_ns, 100 + i);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void test_metrics__find_unknown_name_not_found(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t index = 12345;
  (void)state;
  record(m, "present", 1, 0, 0, 0);
  s = bt_test_snapshot(m);
  assert_status(BT_E_NOT_FOUND, bt_snapshot_find(&index, s, "absent"));
  assert_status(BT_E_NOT_FOUND, bt_snapshot_find(&index, s, "presen"));
  assert_status(BT_E_NOT_FOUND, bt_snapshot_find(&index, s, "present2"));
  assert_int_equal(index, 12345);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void test_metrics__empty_sink_empty_snapshot(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s = bt_test_snapshot(m);
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_op_stats os = BT_OP_STATS_INIT;
  size_t n = 99;
  (void)state;
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  assert_int_equal(n, 0);
  assert_status(BT_OK, bt_snapshot_get_info(&info, s));
  assert_int_equal(info.op_count, 0);
  assert_status(BT_E_NOT_FOUND, bt_snapshot_op_stats(&os, s, 0));
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void test_metrics__snapshot_info(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_snapshot *s;
  uint64_t created, before, after;
  (void)state;
  bt_metrics_free(m);
  created = bt_clock_now_ns();
  m = bt_test_metrics_new();
  record(m, "one", 1, 0, 0, 0);
  record(m, "two", 1, 0, 0, 0);
  before = bt_clock_now_ns();
  s = bt_test_snapshot(m);
  after = bt_clock_now_ns();
  assert_status(BT_OK, bt_snapshot_get_info(&info, s));
  assert_int_equal(info.struct_size, sizeof info);
  assert_int_equal(info.op_count, 2);
  assert_int_equal(info.phase_count, bt_phase_count());
  assert_int_equal(info.reserved_, 0);
  assert_u64_ge(info.end_ns, before);
  assert_u64_le(info.end_ns, after);
  assert_u64_ge(info.start_ns, created); /* the interval began at creation */
  assert_u64_le(info.start_ns, info.end_ns);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* A snapshot is an immutable copy: later records do not show in it. */
static void test_metrics__snapshot_is_immutable(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s1, *s2;
  size_t n = 0;
  (void)state;
  record(m, "frozen", 100, 10, 0, 1);
  s1 = bt_test_snapshot(m);
  record(m, "frozen", 200, 20, 0, 1);
  record(m, "later", 1, 0, 0, 0);
  assert_status(BT_OK, bt_metrics_reset(m));
  s2 = bt_test_snapshot(m);
  assert_u64_eq(bt_test_op_stats(s1, "frozen").count, 1);
  assert_u64_eq(bt_test_op_stats(s1, "frozen").total_ns, 100);
  assert_u64_eq(bt_test_phase_stats(s1, "frozen", BT_PHASE_EXTRACT).sum_ns, 10);
  assert_status(BT_OK, bt_snapshot_op_count(&n, s1));
  assert_int_equal(n, 1);
  assert_false(bt_test_find_op(s1, "later", NULL));
  assert_u64_eq(bt_test_op_stats(s2, "frozen").count, 0);
  bt_snapshot_free(s2);
  bt_snapshot_free(s1);
  bt_metrics_free(m);
}

/* A snapshot outlives its sink; interned names outlive both. */
static void test_metrics__snapshot_outlives_metrics(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_op_stats os;
  bt_phase_stats ps;
  (void)state;
  record(m, "survivor", 4242, 42, 0, 3);
  s = bt_test_snapshot(m);
  bt_metrics_free(m);
  os = bt_test_op_stats(s, "survivor");
  ps = bt_test_phase_stats(s, "survivor", BT_PHASE_EXTRACT);
  assert_u64_eq(os.total_ns, 4242);
  assert_u64_eq(ps.sum_ns, 42);
  bt_snapshot_free(s);
  assert_string_equal(os.name, "survivor");
  assert_string_equal(ps.name, "extract");
}

/* The seed's reset case: everything zero, operation still listed, handles valid. */
static void test_metrics__reset_zeroes_everything(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL, *op2 = NULL;
  bt_tracer *t = NULL;
  bt_snapshot *s;
  bt_op_stats os;
  bt_phase_id p;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "reset_me"));
  record(m, "reset_me", 5000, 1000, 2000, 4);
  {
    bt_timing t2 = bt_test_timing("reset_me", 100);
    t2.flags = BT_TIMING_ERROR | BT_TIMING_PHASE_LEFT_OPEN;
    t2.gil_wait_ns = 5;
    t2.gil_releases = 2;
    t2.workers = 4;
    assert_status(BT_OK, bt_metrics_record(m, &t2));
  }
  assert_u64_eq(bt_test_count(m, "reset_me"), 2);

  assert_status(BT_OK, bt_metrics_reset(m));
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "reset_me"); /* still listed */
  assert_u64_eq(os.count, 0);
  assert_u64_eq(os.errors, 0);
  assert_u64_eq(os.left_open, 0);
  assert_u64_eq(os.items, 0);
  assert_u64_eq(os.total_ns, 0);
  assert_u64_eq(os.gil_held_ns, 0);
  assert_u64_eq(os.gil_released_ns, 0);
  assert_u64_eq(os.gil_wait_ns, 0);
  assert_u64_eq(os.unattributed_ns, 0);
  assert_u64_eq(os.gil_releases, 0);
  assert_u64_eq(os.parallel_ops, 0);
  assert_int_equal(os.workers_max, 0);
  for (p = BT_PHASE_TOTAL; p < 4; p++) {
    bt_phase_stats ps = bt_test_phase_stats(s, "reset_me", p);
    size_t nb = 99;
    assert_u64_eq(ps.count, 0);
    assert_u64_eq(ps.entries, 0);
    assert_u64_eq(ps.sum_ns, 0);
    assert_u64_eq(ps.min_ns, 0);
    assert_u64_eq(ps.max_ns, 0);
    assert_u64_eq(ps.p50_ns, 0);
    assert_u64_eq(ps.p99_ns, 0);
    assert_status(BT_OK, bt_snapshot_buckets(NULL, 0, &nb, s, bt_test_index(s, "reset_me"), p));
    assert_int_equal(nb, 0);
  }
  bt_snapshot_free(s);

  /* the bound handle is still valid and still the same */
  assert_status(BT_OK, bt_op_lookup(&op2, m, "reset_me"));
  assert_ptr_equal(op, op2);
  assert_status(BT_OK, bt_tracer_new_op(&t, op));
  assert_status(BT_OK, bt_tracer_add_items(t, 2));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  record(m, "reset_me", 77, 7, 0, 0);
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "reset_me");
  assert_u64_eq(os.count, 2);
  assert_u64_eq(os.items, 2);
  assert_u64_eq(bt_test_phase_stats(s, "reset_me", BT_PHASE_EXTRACT).min_ns, 7);
  assert_u64_eq(bt_test_phase_stats(s, "reset_me", BT_PHASE_EXTRACT).max_ns, 7);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Two private sinks never see each other's records. */
static void test_metrics__private_sinks_independent(void **state) {
  bt_metrics *a = bt_test_metrics_new();
  bt_metrics *b = bt_test_metrics_new();
  (void)state;
  assert_true(a != b);
  record(a, "shared_name", 10, 0, 0, 0);
  record(a, "shared_name", 10, 0, 0, 0);
  record(b, "shared_name", 10, 0, 0, 0);
  assert_u64_eq(bt_test_count(a, "shared_name"), 2);
  assert_u64_eq(bt_test_count(b, "shared_name"), 1);
  assert_status(BT_OK, bt_metrics_reset(a));
  assert_u64_eq(bt_test_count(a, "shared_name"), 0);
  assert_u64_eq(bt_test_count(b, "shared_name"), 1);
  bt_metrics_free(a);
  assert_u64_eq(bt_test_count(b, "shared_name"), 1);
  bt_metrics_free(b);
}

/* NULL means the global sink, which is one stable object. */
static void test_metrics__null_means_global(void **state) {
  bt_metrics *g = bt_metrics_global();
  uint64_t before;
  (void)state;
  assert_non_null(g);
  assert_ptr_equal(g, bt_metrics_global());
  before = bt_test_count(g, "metrics_null_is_global");
  record(NULL, "metrics_null_is_global", 10, 0, 0, 0);
  record(g, "metrics_null_is_global", 10, 0, 0, 0);
  assert_u64_eq(bt_test_count(NULL, "metrics_null_is_global"), before + 2);
  assert_u64_eq(bt_test_count(g, "metrics_null_is_global"), before + 2);
  bt_metrics_free(g); /* ignored */
  record(g, "metrics_null_is_global", 10, 0, 0, 0);
  assert_u64_eq(bt_test_count(g, "metrics_null_is_global"), before + 3);
}

/* bt_op_name: the interned name of a bound operation, valid after its sink is gone. */
static void test_metrics__op_name_interned(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL;
  const char *name;
  char buf[16];
  (void)state;
  strcpy(buf, "bound_op");
  assert_status(BT_OK, bt_op_lookup(&op, m, buf));
  memset(buf, 'y', sizeof buf - 1);
  buf[sizeof buf - 1] = '\0';
  name = bt_op_name(op);
  assert_non_null(name);
  assert_string_equal(name, "bound_op");
  bt_metrics_free(m);
  assert_string_equal(name, "bound_op");
}

/*
 * Sums never wrap: two operations of 2^64 - 1 ns (and as many items and as
 * much GIL wait) leave every sum at 2^64 - 1 and flag the operation, in the
 * stats, the JSON and the report; before, total_ns read 2^64 - 2 and the
 * report printed "GIL held 100.0%, released 100.0%". An operation far from
 * the limit is not flagged, and a take after saturation starts clean.
 */
static void test_metrics__sums_saturate_and_say_so(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s, *interval = NULL;
  bt_op_stats os, fine;
  bt_phase_stats ps;
  char text[4096], *json;
  size_t needed = 0;
  int i;
  (void)state;
  for (i = 0; i < 2; i++) {
    bt_timing t = bt_test_timing("huge", UINT64_MAX);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, UINT64_MAX / 2, 1);
    bt_test_set_phase(&t, BT_PHASE_NETWORK, UINT64_MAX / 2, 1);
    t.items = UINT64_MAX;
    t.gil_wait_ns = UINT64_MAX;
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  {
    bt_timing t = bt_test_timing("fine", 1000);
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "huge");
  fine = bt_test_op_stats(s, "fine");
  assert_u64_eq(os.count, 2);
  assert_u64_eq(os.total_ns, UINT64_MAX);
  assert_u64_eq(os.items, UINT64_MAX);
  assert_u64_eq(os.gil_wait_ns, UINT64_MAX);
  assert_u64_eq(os.gil_held_ns, UINT64_MAX - 1); /* 2 x (2^63 - 1): exact */
  assert_u64_eq(os.gil_released_ns, UINT64_MAX - 1);
  assert_int_equal(os.flags & BT_STATS_SATURATED, BT_STATS_SATURATED);
  assert_int_equal(fine.flags, 0);
  ps = bt_test_phase_stats(s, "huge", BT_PHASE_TOTAL);
  assert_u64_eq(ps.sum_ns, UINT64_MAX);
  assert_status(BT_OK, bt_snapshot_format(text, sizeof text, &needed, s));
  assert_non_null(strstr(text, "lower bounds"));
  assert_null(strstr(text, "GIL held 100.0%, released 100.0%"));
  assert_status(BT_OK, bt_snapshot_export(NULL, 0, &needed, s, BT_FORMAT_JSON));
  json = malloc(needed + 1);
  assert_non_null(json);
  assert_status(BT_OK, bt_snapshot_export(json, needed + 1, &needed, s, BT_FORMAT_JSON));
  assert_non_null(strstr(json, "\"name\":\"huge\""));
  assert_non_null(strstr(json, "\"saturated\":true"));
  assert_non_null(strstr(json, "\"saturated\":false"));
  free(json);
  bt_snapshot_free(s);
  /* the interval after a take starts from zero, unflagged */
  assert_status(BT_OK, bt_metrics_take(&interval, NULL, m));
  bt_snapshot_free(interval);
  {
    bt_timing t = bt_test_timing("huge", 5);
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  assert_status(BT_OK, bt_metrics_take(&interval, NULL, m));
  os = bt_test_op_stats(interval, "huge");
  assert_u64_eq(os.total_ns, 5);
  assert_int_equal(os.flags, 0);
  bt_snapshot_free(interval);
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics__aggregates_exact),
      cmocka_unit_test(test_metrics__operations_kept_apart_by_name),
      cmocka_unit_test(test_metrics__snapshot_sorted_by_name),
      cmocka_unit_test(test_metrics__find_unknown_name_not_found),
      cmocka_unit_test(test_metrics__empty_sink_empty_snapshot),
      cmocka_unit_test(test_metrics__snapshot_info),
      cmocka_unit_test(test_metrics__snapshot_is_immutable),
      cmocka_unit_test(test_metrics__snapshot_outlives_metrics),
      cmocka_unit_test(test_metrics__reset_zeroes_everything),
      cmocka_unit_test(test_metrics__private_sinks_independent),
      cmocka_unit_test(test_metrics__null_means_global),
      cmocka_unit_test(test_metrics__op_name_interned),
      cmocka_unit_test(test_metrics__sums_saturate_and_say_so),
  };
  return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
