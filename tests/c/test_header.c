/*
 * Contract checks of the public header, compiled as strictly as a user might
 * (-std=c99 -pedantic -Werror -Wall -Wextra): each *_INIT macro matches its
 * struct and is accepted by its function.
 */
#include "bt_test.h"

static void test_header__init_macros_set_struct_size(void **state) {
  bt_timing timing = BT_TIMING_INIT;
  bt_op_stats op_stats = BT_OP_STATS_INIT;
  bt_phase_stats phase_stats = BT_PHASE_STATS_INIT;
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  (void)state;
  assert_int_equal(timing.struct_size, sizeof(bt_timing));
  assert_int_equal(op_stats.struct_size, sizeof(bt_op_stats));
  assert_int_equal(phase_stats.struct_size, sizeof(bt_phase_stats));
  assert_int_equal(info.struct_size, sizeof(bt_snapshot_info));
}

/* Everything after struct_size starts zero (NULL). */
static void test_header__init_macros_zero_the_rest(void **state) {
  bt_timing t = BT_TIMING_INIT;
  bt_op_stats o = BT_OP_STATS_INIT;
  bt_phase_stats p = BT_PHASE_STATS_INIT;
  bt_snapshot_info i = BT_SNAPSHOT_INFO_INIT;
  int k;
  (void)state;
  assert_null(t.op_name);
  assert_u64_eq(t.total_ns + t.unattributed_ns + t.gil_held_ns + t.gil_released_ns +
                    t.gil_wait_ns + t.items,
                0);
  assert_int_equal(t.gil_releases + t.workers + t.flags + t.phase_count, 0);
  for (k = 0; k < BT_MAX_PHASES; k++) {
    assert_u64_eq(t.phase_ns[k], 0);
    assert_int_equal(t.phase_entries[k], 0);
  }
  assert_null(o.name);
  assert_u64_eq(o.count + o.errors + o.left_open + o.items + o.total_ns + o.gil_held_ns +
                    o.gil_released_ns + o.gil_wait_ns + o.unattributed_ns + o.gil_releases +
                    o.parallel_ops,
                0);
  assert_int_equal(o.workers_max + o.flags, 0);
  assert_null(p.name);
  assert_int_equal(p.phase, 0);
  assert_int_equal(p.gil_held, 0);
  assert_u64_eq(p.count + p.entries + p.sum_ns + p.min_ns + p.max_ns + p.p50_ns + p.p90_ns +
                    p.p99_ns + p.p999_ns,
                0);
  assert_int_equal(i.op_count, 0);
  assert_u64_eq(i.start_ns + i.end_ns, 0);
  assert_int_equal(i.phase_count + i.reserved_, 0);
}

/* Each INIT value is what its function wants. */
static void test_header__init_macros_accepted(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing timing = BT_TIMING_INIT;
  bt_op_stats op_stats = BT_OP_STATS_INIT;
  bt_phase_stats phase_stats = BT_PHASE_STATS_INIT;
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_tracer *t = NULL;
  bt_snapshot *s;
  size_t needed = 0;
  (void)state;
  assert_status(BT_OK, bt_tracer_new(&t, m, "init_macros"));
  assert_status(BT_OK, bt_tracer_finish_timing(&timing, t));
  bt_tracer_free(t);
  assert_status(BT_OK, bt_timing_format(NULL, 0, &needed, &timing));
  {
    bt_timing in = BT_TIMING_INIT;
    in.op_name = "init_macros";
    in.total_ns = 10;
    assert_status(BT_OK, bt_metrics_record(m, &in));
  }
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_get_info(&info, s));
  assert_status(BT_OK, bt_snapshot_op_stats(&op_stats, s, 0));
  assert_status(BT_OK, bt_snapshot_phase_stats(&phase_stats, s, 0, BT_PHASE_TOTAL));
  assert_int_equal(info.op_count, 1);
  assert_u64_eq(op_stats.count, 2);
  assert_u64_eq(phase_stats.count, 2);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* The fixed facts of the header. */
static void test_header__limits_and_ids(void **state) {
  (void)state;
  assert_int_equal(BT_MAX_PHASES, 32);
  assert_int_equal(BT_NAME_MAX, 255);
  assert_int_equal(BT_MAX_OPS, 1024);
  assert_int_equal(BT_PHASE_TOTAL, -1);
  assert_int_equal(sizeof(bt_phase_id), 4);
  assert_int_equal(BT_TIMING_ERROR & BT_TIMING_PHASE_LEFT_OPEN, 0);
  assert_int_equal(sizeof(((bt_timing *)0)->phase_ns) / sizeof(uint64_t), BT_MAX_PHASES);
  assert_int_equal(sizeof(((bt_timing *)0)->phase_entries) / sizeof(uint32_t), BT_MAX_PHASES);
  assert_int_equal(offsetof(bt_timing, struct_size), 0);
  assert_int_equal(offsetof(bt_op_stats, struct_size), 0);
  assert_int_equal(offsetof(bt_phase_stats, struct_size), 0);
  assert_int_equal(offsetof(bt_snapshot_info, struct_size), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header__init_macros_set_struct_size),
      cmocka_unit_test(test_header__init_macros_zero_the_rest),
      cmocka_unit_test(test_header__init_macros_accepted),
      cmocka_unit_test(test_header__limits_and_ids),
  };
  return cmocka_run_group_tests_name("header", tests, NULL, NULL);
}
