/*
 * The run-time off switch: bt_set_enabled() and BOUNDARYTRACE_DISABLE=1.
 *
 *   test_offswitch                 bt_set_enabled(0/1) in a normal process
 *   test_offswitch --env-disabled  run with BOUNDARYTRACE_DISABLE=1 in the environment
 */
#include "bt_test.h"

/* A tracer run through every call, on a tracer that must say BT_OK to all of them. */
static void drive_inert(bt_tracer *t) {
  bt_timing tm = BT_TIMING_INIT;
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT)); /* would be PHASE_OPEN */
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_CONVERT));   /* would be PHASE_NOT_OPEN */
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_tracer_add_items(t, 5));
  assert_status(BT_OK, bt_tracer_add_gil_release(t));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, 100));
  assert_status(BT_OK, bt_tracer_set_workers(t, 4));
  assert_status(BT_OK, bt_tracer_set_error(t));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  assert_status(BT_OK, bt_tracer_finish(t)); /* would be FINISHED */
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_NETWORK));
  bt_tracer_free(t); /* ignored */
}

static void record_one(bt_metrics *m, const char *op) {
  bt_timing t = bt_test_timing(op, 1000);
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 100, 1);
  t.items = 2;
  assert_status(BT_OK, bt_metrics_record(m, &t));
}

static void test_offswitch__enabled_by_default(void **state) {
  (void)state;
  assert_int_equal(bt_is_enabled(), 1);
}

/* While off: inert tracers, BT_OK everywhere, nothing recorded. */
static void test_offswitch__disabled_records_nothing(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *a = NULL, *b = NULL, *c = NULL;
  bt_op *op = NULL;
  uint64_t global_before = bt_test_count(NULL, "offswitch_global");
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "off_op"));
  bt_set_enabled(0);
  assert_int_equal(bt_is_enabled(), 0);

  assert_status(BT_OK, bt_tracer_new(&a, m, "off"));
  assert_status(BT_OK, bt_tracer_new(&b, NULL, "offswitch_global"));
  assert_status(BT_OK, bt_tracer_new_op(&c, op));
  assert_non_null(a);
  assert_ptr_equal(a, b); /* one shared inert tracer */
  assert_ptr_equal(a, c);
  drive_inert(a);
  drive_inert(b);
  drive_inert(c);
  record_one(m, "off");
  record_one(m, "off_op");
  record_one(NULL, "offswitch_global");

  bt_set_enabled(1);
  assert_int_equal(bt_is_enabled(), 1);
  assert_u64_eq(bt_test_count(m, "off"), 0);
  assert_u64_eq(bt_test_count(m, "off_op"), 0);
  assert_u64_eq(bt_test_count(NULL, "offswitch_global"), global_before);
  bt_metrics_free(m);
}

/* Switching back on restores recording, through names and bound handles alike. */
static void test_offswitch__enable_restores(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = NULL;
  bt_op *op = NULL;
  bt_timing tm = BT_TIMING_INIT;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "restored_op"));
  bt_set_enabled(0);
  bt_set_enabled(1);
  assert_status(BT_OK, bt_tracer_new(&t, m, "restored"));
  assert_status(BT_E_PHASE_NOT_OPEN, bt_phase_end(t, BT_PHASE_EXTRACT)); /* checked again */
  assert_status(BT_OK, bt_tracer_add_items(t, 3));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_string_equal(tm.op_name, "restored");
  assert_u64_eq(tm.items, 3);
  assert_status(BT_OK, bt_tracer_new_op(&t, op));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  record_one(m, "restored");
  assert_u64_eq(bt_test_count(m, "restored"), 2);
  assert_u64_eq(bt_test_count(m, "restored_op"), 1);
  bt_metrics_free(m);
}

/* Any nonzero value switches on. */
static void test_offswitch__nonzero_means_on(void **state) {
  (void)state;
  bt_set_enabled(0);
  bt_set_enabled(7);
  assert_int_equal(bt_is_enabled(), 1);
  bt_set_enabled(-1);
  assert_int_equal(bt_is_enabled(), 1);
}

/*
 * A tracer created while on, with the switch turned off in flight: its next
 * calls see the switch (BT_OK) and it records nothing.
 */
static void test_offswitch__tracer_in_flight_sees_switch(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = NULL;
  bt_timing tm = BT_TIMING_INIT;
  (void)state;
  assert_status(BT_OK, bt_tracer_new(&t, m, "in_flight"));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  bt_set_enabled(0);
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT)); /* would be PHASE_NOT_OPEN */
  assert_status(BT_OK, bt_tracer_add_items(t, 1));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_set_enabled(1);
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "in_flight"), 0);
  bt_metrics_free(m);
}

/*
 * The switch decides at the finish: an operation that began while on and
 * finishes on again is recorded whole, the phases it ran while the switch
 * was off included (its calls were valid all along), and never half.
 */
static void test_offswitch__finish_decides_for_an_op_in_flight(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_tracer *t = NULL;
  bt_op_stats st;
  (void)state;
  assert_status(BT_OK, bt_tracer_new(&t, m, "through_off"));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  bt_set_enabled(0);
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_NETWORK));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_NETWORK));
  bt_set_enabled(1);
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  s = bt_test_snapshot(m);
  st = bt_test_op_stats(s, "through_off");
  assert_u64_eq(st.count, 1);
  assert_u64_eq(st.left_open, 0);
  assert_u64_eq(bt_test_phase_stats(s, "through_off", BT_PHASE_EXTRACT).count, 1);
  assert_u64_eq(bt_test_phase_stats(s, "through_off", BT_PHASE_NETWORK).count, 1);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* The inert tracer handed out while off stays inert after the switch is back on. */
static void test_offswitch__inert_tracer_stays_inert(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = NULL;
  (void)state;
  bt_set_enabled(0);
  assert_status(BT_OK, bt_tracer_new(&t, m, "inert_after"));
  bt_set_enabled(1);
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_tracer_finish(t));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "inert_after"), 0);
  bt_metrics_free(m);
}

/* While off, reset does nothing; queries and formatting keep working. */
static void test_offswitch__queries_work_reset_does_nothing(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s = NULL;
  bt_phase_id id = -1;
  size_t needed = 0;
  (void)state;
  record_one(m, "kept");
  record_one(m, "kept");
  bt_set_enabled(0);
  assert_status(BT_OK, bt_metrics_reset(m));
  assert_status(BT_OK, bt_metrics_snapshot(&s, m));
  assert_u64_eq(bt_test_op_stats(s, "kept").count, 2);
  assert_u64_eq(bt_test_op_stats(s, "kept").items, 4);
  assert_u64_eq(bt_test_phase_stats(s, "kept", BT_PHASE_EXTRACT).sum_ns, 200);
  assert_status(BT_OK, bt_snapshot_format(NULL, 0, &needed, s));
  assert_true(needed > 0);
  assert_status(BT_OK, bt_phase_lookup(&id, "network"));
  assert_int_equal(id, BT_PHASE_NETWORK);
  assert_int_equal(bt_phase_count(), 4);
  bt_snapshot_free(s);
  bt_set_enabled(1);
  assert_u64_eq(bt_test_count(m, "kept"), 2);
  assert_status(BT_OK, bt_metrics_reset(m));
  assert_u64_eq(bt_test_count(m, "kept"), 0);
  bt_metrics_free(m);
}

/* ------------------------------------------------------------------------- */
/* BOUNDARYTRACE_DISABLE=1 in the environment                                */
/* ------------------------------------------------------------------------- */

static void test_offswitch__env_disables(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *a = NULL, *b = NULL;
  const char *env = getenv("BOUNDARYTRACE_DISABLE");
  (void)state;
  assert_non_null(env);
  assert_string_equal(env, "1");
  assert_int_equal(bt_is_enabled(), 0);
  assert_status(BT_OK, bt_tracer_new(&a, m, "env_off"));
  assert_status(BT_OK, bt_tracer_new(&b, m, "env_off"));
  assert_non_null(a);
  assert_ptr_equal(a, b);
  drive_inert(a);
  record_one(m, "env_off");
  assert_u64_eq(bt_test_count(m, "env_off"), 0);
  bt_metrics_free(m);
}

/* bt_set_enabled overrides the environment. */
static void test_offswitch__env_overridden_by_set_enabled(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = NULL;
  (void)state;
  bt_set_enabled(1);
  assert_int_equal(bt_is_enabled(), 1);
  assert_status(BT_OK, bt_tracer_new(&t, m, "env_on"));
  assert_status(BT_E_PHASE_NOT_OPEN, bt_phase_end(t, BT_PHASE_NETWORK));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  record_one(m, "env_on");
  assert_u64_eq(bt_test_count(m, "env_on"), 2);
  bt_set_enabled(0);
  assert_int_equal(bt_is_enabled(), 0);
  bt_metrics_free(m);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_offswitch__enabled_by_default),
      cmocka_unit_test(test_offswitch__disabled_records_nothing),
      cmocka_unit_test(test_offswitch__enable_restores),
      cmocka_unit_test(test_offswitch__nonzero_means_on),
      cmocka_unit_test(test_offswitch__tracer_in_flight_sees_switch),
      cmocka_unit_test(test_offswitch__finish_decides_for_an_op_in_flight),
      cmocka_unit_test(test_offswitch__inert_tracer_stays_inert),
      cmocka_unit_test(test_offswitch__queries_work_reset_does_nothing),
  };
  const struct CMUnitTest env_tests[] = {
      cmocka_unit_test(test_offswitch__env_disables),
      cmocka_unit_test(test_offswitch__env_overridden_by_set_enabled),
  };
  if (argc > 1 && strcmp(argv[1], "--env-disabled") == 0) {
    return cmocka_run_group_tests_name("offswitch_env", env_tests, NULL, NULL);
  }
  return cmocka_run_group_tests_name("offswitch", tests, NULL, NULL);
}
