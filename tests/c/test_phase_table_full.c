/*
 * The phase table filled to BT_MAX_PHASES. Its own executable: the table is
 * process-wide and never shrinks.
 */
#include "bt_test.h"

static void fill_table(void) {
  uint32_t n;
  for (n = bt_phase_count(); n < BT_MAX_PHASES; n++) {
    char name[16];
    bt_phase_id id = -1;
    snprintf(name, sizeof name, "p%02u", (unsigned)n);
    assert_status(BT_OK, bt_phase_register(&id, name, (int)(n & 1)));
    assert_int_equal(id, (bt_phase_id)n);
  }
}

static void test_phase_table_full__fills_to_max_then_full(void **state) {
  bt_phase_id out = 12345;
  (void)state;
  assert_int_equal(bt_phase_count(), 4);
  fill_table();
  assert_int_equal(bt_phase_count(), BT_MAX_PHASES);
  assert_status(BT_E_FULL, bt_phase_register(&out, "one_too_many", 0));
  assert_status(BT_E_FULL, bt_phase_register(&out, "one_too_many", 1));
  assert_int_equal(out, 12345);
  assert_int_equal(bt_phase_count(), BT_MAX_PHASES);
  assert_status(BT_E_NOT_FOUND, bt_phase_lookup(&out, "one_too_many"));
  assert_int_equal(out, 12345);
}

/* A full table still finds what it holds. */
static void test_phase_table_full__existing_names_still_work(void **state) {
  bt_phase_id id = -1;
  const char *name = NULL;
  int gil = -1;
  (void)state;
  fill_table();
  assert_status(BT_OK, bt_phase_register(&id, "p31", 1));
  assert_int_equal(id, BT_MAX_PHASES - 1);
  assert_status(BT_OK, bt_phase_register(&id, "extract", 1));
  assert_int_equal(id, BT_PHASE_EXTRACT);
  assert_status(BT_OK, bt_phase_lookup(&id, "p17"));
  assert_int_equal(id, 17);
  assert_status(BT_OK, bt_phase_get_info(&name, &gil, BT_MAX_PHASES - 1));
  assert_string_equal(name, "p31");
  assert_int_equal(gil, 1);
  /* an existing name with the other GIL state is a conflict, not "full" */
  id = 4242;
  assert_status(BT_E_CONFLICT, bt_phase_register(&id, "p31", 0));
  assert_int_equal(id, 4242);
}

/* The last id works in a tracer and in a record; BT_MAX_PHASES is still unknown. */
static void test_phase_table_full__last_phase_usable(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  const bt_phase_id last = BT_MAX_PHASES - 1;
  bt_timing tm = BT_TIMING_INIT;
  bt_timing rec;
  bt_tracer *t = NULL;
  bt_snapshot *s;
  (void)state;
  fill_table();
  assert_status(BT_OK, bt_tracer_new(&t, m, "last_phase"));
  assert_status(BT_E_UNKNOWN_PHASE, bt_phase_begin(t, BT_MAX_PHASES));
  assert_status(BT_OK, bt_phase_begin(t, last));
  bt_test_sleep_ns(BT_TEST_MS);
  assert_status(BT_OK, bt_phase_end(t, last));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_int_equal(tm.phase_count, BT_MAX_PHASES);
  assert_int_equal(tm.phase_entries[last], 1);
  assert_u64_ge(tm.phase_ns[last], BT_TEST_AT_LEAST(BT_TEST_MS));
  assert_u64_eq(tm.gil_held_ns, tm.phase_ns[last]); /* p31 registered as held */

  rec = bt_test_timing("last_phase", 1000);
  bt_test_set_phase(&rec, last, 600, 2);
  bt_test_set_phase(&rec, 30, 300, 1); /* p30: released */
  assert_status(BT_OK, bt_metrics_record(m, &rec));

  s = bt_test_snapshot(m);
  {
    bt_phase_stats ps = bt_test_phase_stats(s, "last_phase", last);
    bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
    bt_op_stats os = bt_test_op_stats(s, "last_phase");
    assert_string_equal(ps.name, "p31");
    assert_u64_eq(ps.count, 2);
    assert_u64_eq(ps.entries, 3);
    assert_u64_eq(ps.sum_ns, tm.phase_ns[last] + 600);
    assert_u64_eq(bt_test_phase_stats(s, "last_phase", 30).sum_ns, 300);
    assert_u64_eq(os.gil_held_ns, tm.phase_ns[last] + 600);
    assert_u64_eq(os.gil_released_ns, 300);
    assert_status(BT_OK, bt_snapshot_get_info(&info, s));
    assert_int_equal(info.phase_count, BT_MAX_PHASES);
    ps.count = 999;
    assert_status(BT_E_UNKNOWN_PHASE,
                  bt_snapshot_phase_stats(&ps, s, bt_test_index(s, "last_phase"), BT_MAX_PHASES));
    assert_u64_eq(ps.count, 999);
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_phase_table_full__fills_to_max_then_full),
      cmocka_unit_test(test_phase_table_full__existing_names_still_work),
      cmocka_unit_test(test_phase_table_full__last_phase_usable),
  };
  return cmocka_run_group_tests_name("phase_table_full", tests, NULL, NULL);
}
