/*
 * The compile-time off switch: built with -DBT_DISABLE_TRACING and NOT linked
 * to the library. It calls every function of bt.h, so a function missing from
 * bt_noop.h fails to compile (implicit declaration) or to link (no library);
 * CMakeLists.txt checks that every BT_API name of bt.h is called here.
 */
#ifndef BT_DISABLE_TRACING
#error "build this file with -DBT_DISABLE_TRACING"
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <boundarytrace/bt.h>

static void test_noop__library_calls(void **state) {
  (void)state;
  assert_int_equal(bt_version(), BT_VERSION_NUMBER);
  assert_string_equal(bt_version_string(), BT_VERSION_STRING);
  assert_int_equal(bt_abi_version(), BT_ABI_VERSION);
  assert_non_null(bt_status_str(BT_E_NULL));
  assert_non_null(bt_status_name(BT_E_NULL));
  bt_set_enabled(1);
  assert_int_equal(bt_is_enabled(), 0); /* compiled out: never on */
  assert_int_equal(bt_clock_now_ns(), 0);
  assert_non_null(bt_clock_source());
}

static void test_noop__phase_calls(void **state) {
  bt_phase_id id = 77;
  const char *name = NULL;
  int gil = 77;
  (void)state;
  assert_int_equal(bt_phase_register(&id, "custom", 1), BT_OK);
  assert_int_equal(id, 0);
  id = 77;
  assert_int_equal(bt_phase_lookup(&id, "custom"), BT_OK);
  assert_int_equal(id, 0);
  assert_int_equal(bt_phase_get_info(&name, &gil, 0), BT_OK);
  assert_non_null(name);
  assert_int_equal(gil, 0);
  assert_int_equal(bt_phase_count(), 0);
}

static void test_noop__metrics_calls(void **state) {
  bt_metrics *m = (bt_metrics *)&m;
  bt_op *op = (bt_op *)&op;
  bt_snapshot *s = (bt_snapshot *)&s, *c = (bt_snapshot *)&c;
  bt_timing t = BT_TIMING_INIT;
  (void)state;
  assert_null(bt_metrics_global());
  assert_int_equal(bt_metrics_new(&m), BT_OK);
  assert_null(m);
  assert_int_equal(bt_op_lookup(&op, m, "op"), BT_OK);
  assert_null(op);
  assert_null(bt_op_name(op));
  assert_int_equal(bt_op_reserve(op), BT_OK);
  t.op_name = "op";
  assert_int_equal(bt_metrics_record(m, &t), BT_OK);
  assert_int_equal(bt_metrics_snapshot(&s, m), BT_OK);
  assert_null(s);
  s = (bt_snapshot *)&s;
  assert_int_equal(bt_metrics_take(&s, &c, m), BT_OK);
  assert_null(s);
  assert_null(c);
  assert_int_equal(bt_metrics_reset(m), BT_OK);
  bt_metrics_free(m);
  /* The shared sink: nothing opened, nothing read, no file touched. */
  m = (bt_metrics *)&m;
  assert_int_equal(bt_metrics_open_shared(&m, "/nonexistent/shared"), BT_OK);
  assert_null(m);
  s = (bt_snapshot *)&s;
  assert_int_equal(bt_snapshot_read_shared(&s, "/nonexistent/shared"), BT_OK);
  assert_null(s);
  {
    const char *path = NULL, *reason = NULL;
    assert_int_equal(bt_snapshot_get_skipped(&path, &reason, s, 0), BT_E_NOT_FOUND);
  }
}

static void test_noop__tracer_calls(void **state) {
  bt_tracer *t = (bt_tracer *)&t;
  bt_op *op = NULL;
  bt_timing tm = BT_TIMING_INIT;
  (void)state;
  assert_int_equal(bt_tracer_new(&t, NULL, "op"), BT_OK);
  assert_null(t);
  t = (bt_tracer *)&t;
  assert_int_equal(bt_tracer_new_op(&t, op), BT_OK);
  assert_null(t);
  assert_int_equal(bt_phase_begin(t, BT_PHASE_EXTRACT), BT_OK);
  assert_int_equal(bt_phase_end(t, BT_PHASE_EXTRACT), BT_OK);
  assert_int_equal(bt_tracer_add_items(t, 1), BT_OK);
  assert_int_equal(bt_tracer_add_gil_release(t), BT_OK);
  assert_int_equal(bt_tracer_add_gil_wait(t, 1), BT_OK);
  assert_int_equal(bt_tracer_set_workers(t, 2), BT_OK);
  assert_int_equal(bt_tracer_set_error(t), BT_OK);
  assert_int_equal(bt_tracer_finish(t), BT_OK);
  assert_int_equal(bt_tracer_finish_timing(&tm, t), BT_OK);
  bt_tracer_free(t);
}

static void test_noop__snapshot_and_format_calls(void **state) {
  bt_snapshot *s = NULL;
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_op_stats os = BT_OP_STATS_INIT;
  bt_phase_stats ps = BT_PHASE_STATS_INIT;
  bt_timing tm = BT_TIMING_INIT;
  bt_bucket b[2];
  size_t n = 77, index = 77, needed = 77;
  uint64_t q = 77;
  char buf[8];
  (void)state;
  assert_int_equal(bt_snapshot_get_info(&info, s), BT_OK);
  assert_int_equal(bt_snapshot_op_count(&n, s), BT_OK);
  assert_int_equal(n, 0);
  assert_int_equal(bt_snapshot_find(&index, s, "op"), BT_OK);
  assert_int_equal(bt_snapshot_op_stats(&os, s, 0), BT_OK);
  assert_int_equal(bt_snapshot_phase_stats(&ps, s, 0, BT_PHASE_TOTAL), BT_OK);
  assert_int_equal(bt_snapshot_quantile(&q, s, 0, BT_PHASE_TOTAL, 0.5), BT_OK);
  assert_int_equal(q, 0);
  n = 77;
  assert_int_equal(bt_snapshot_buckets(b, 2, &n, s, 0, BT_PHASE_TOTAL), BT_OK);
  assert_int_equal(n, 0);
  memset(buf, 'Q', sizeof buf);
  assert_int_equal(bt_timing_format(buf, sizeof buf, &needed, &tm), BT_OK);
  assert_int_equal(needed, 0);
  assert_int_equal(buf[0], '\0');
  needed = 77;
  memset(buf, 'Q', sizeof buf);
  assert_int_equal(bt_snapshot_format(buf, sizeof buf, &needed, s), BT_OK);
  assert_int_equal(needed, 0);
  assert_int_equal(buf[0], '\0');
  assert_int_equal(bt_snapshot_format(NULL, 0, &needed, s), BT_OK);
  needed = 77;
  memset(buf, 'Q', sizeof buf);
  assert_int_equal(bt_snapshot_export(buf, sizeof buf, &needed, s, BT_FORMAT_JSON), BT_OK);
  assert_int_equal(needed, 0);
  assert_int_equal(buf[0], '\0');
  /* Compiled out, nothing is written: the path is never touched. */
  assert_int_equal(bt_snapshot_write(s, BT_FORMAT_JSON, "/nonexistent/dir/x.json"), BT_OK);
  {
    bt_format f = BT_FORMAT_JSON;
    assert_int_equal(bt_format_for_path(&f, "x.json"), BT_OK);
    assert_int_equal(f, BT_FORMAT_TEXT);
  }
  bt_snapshot_free(s);
  {
    bt_timeline_info ti = BT_TIMELINE_INFO_INIT;
    assert_int_equal(bt_timeline_start(16), BT_OK);
    assert_int_equal(bt_timeline_get_info(&ti), BT_OK);
    assert_int_equal(ti.active, 0);
    needed = 77;
    assert_int_equal(bt_timeline_export(buf, sizeof buf, &needed), BT_OK);
    assert_int_equal(needed, 0);
    assert_int_equal(bt_timeline_write("/nonexistent/dir/t.json"), BT_OK);
    needed = 77;
    assert_int_equal(bt_timeline_export_shared(buf, sizeof buf, &needed, "/nonexistent/shared", 1),
                     BT_E_NOT_FOUND);
    assert_int_equal(needed, 0);
    assert_int_equal(bt_timeline_stop(), BT_OK);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_noop__library_calls),
      cmocka_unit_test(test_noop__phase_calls),
      cmocka_unit_test(test_noop__metrics_calls),
      cmocka_unit_test(test_noop__tracer_calls),
      cmocka_unit_test(test_noop__snapshot_and_format_calls),
  };
  return cmocka_run_group_tests_name("noop", tests, NULL, NULL);
}
