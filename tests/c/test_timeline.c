/* The timeline of individual operations and its Chrome Trace Event JSON.
 * Its own process: the timeline is process-wide. */
#include "bt_test.h"

#include <unistd.h>

static void one_op(bt_metrics *m, const char *name, int phases) {
  bt_tracer *t;
  int i;
  assert_status(BT_OK, bt_tracer_new(&t, m, name));
  for (i = 0; i < phases; i++) {
    assert_status(BT_OK, bt_phase_begin(t, i % 4));
    assert_status(BT_OK, bt_phase_end(t, i % 4));
  }
  assert_status(BT_OK, bt_tracer_add_items(t, 7));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
}

static bt_timeline_info info(void) {
  bt_timeline_info i = BT_TIMELINE_INFO_INIT;
  assert_status(BT_OK, bt_timeline_get_info(&i));
  return i;
}

static void test_timeline__bad_arguments(void **state) {
  bt_timeline_info small;
  size_t n;
  (void)state;
  assert_status(BT_E_INVALID, bt_timeline_start(0));
  assert_status(BT_E_INVALID, bt_timeline_start((size_t)BT_TIMELINE_MAX_CAPACITY + 1));
  assert_status(BT_E_NULL, bt_timeline_get_info(NULL));
  small.struct_size = sizeof small - 1;
  assert_status(BT_E_STRUCT_SIZE, bt_timeline_get_info(&small));
  assert_status(BT_E_NULL, bt_timeline_export(NULL, 0, NULL));
  assert_status(BT_E_NULL, bt_timeline_export(NULL, 4, &n));
  assert_status(BT_E_NULL, bt_timeline_write(NULL));
  assert_status(BT_E_INVALID, bt_timeline_write(""));
}

static void test_timeline__off_until_started(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  char *j;
  (void)state;
  assert_int_equal(info().active, 0);
  one_op(m, "unseen", 2);
  j = bt_test_timeline_json();
  assert_null(strstr(j, "unseen"));
  assert_non_null(strstr(j, "\"traceEvents\":["));
  free(j);
  bt_metrics_free(m);
}

static void test_timeline__ring_keeps_newest_and_counts_dropped(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timeline_info i;
  char *j;
  char name[16];
  int k;
  (void)state;
  assert_status(BT_OK, bt_timeline_start(3));
  for (k = 0; k < 5; k++) {
    snprintf(name, sizeof name, "op%d", k);
    one_op(m, name, 4);
  }
  i = info();
  assert_int_equal(i.active, 1);
  assert_u64_eq(i.capacity, 3);
  assert_u64_eq(i.kept, 3);
  assert_u64_eq(i.dropped, 2);
  j = bt_test_timeline_json();
  assert_null(strstr(j, "\"op0\""));
  assert_null(strstr(j, "\"op1\""));
  assert_non_null(strstr(j, "\"name\":\"op2\""));
  assert_non_null(strstr(j, "\"name\":\"op4\""));
  assert_u64_eq(bt_test_count_of(j, "\"cat\":\"operation\""), 3);
  assert_u64_eq(bt_test_count_of(j, "\"cat\":\"phase\""), 12);
  assert_non_null(strstr(j, "\"name\":\"extract\""));
  assert_non_null(strstr(j, "\"args\":{\"gil\":\"released\"}"));
  assert_non_null(strstr(j, "\"items\":7,"));
  assert_non_null(strstr(j, "\"name\":\"process_name\""));
  assert_non_null(strstr(j, "\"name\":\"thread_name\""));
  assert_non_null(strstr(j, "\"dropped\":2,\"capacity\":3"));
  free(j);
  /* starting again empties the ring */
  assert_status(BT_OK, bt_timeline_start(8));
  i = info();
  assert_u64_eq(i.kept, 0);
  assert_u64_eq(i.dropped, 0);
  assert_status(BT_OK, bt_timeline_stop());
  bt_metrics_free(m);
}

static void test_timeline__stop_keeps_what_was_kept(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *late;
  (void)state;
  assert_status(BT_OK, bt_timeline_start(8));
  one_op(m, "kept", 1);
  assert_status(BT_OK, bt_tracer_new(&late, m, "finished_after_stop"));
  assert_status(BT_OK, bt_timeline_stop());
  assert_status(BT_OK, bt_tracer_finish(late));
  bt_tracer_free(late);
  one_op(m, "after_stop", 1);
  assert_int_equal(info().active, 0);
  assert_u64_eq(info().kept, 1);
  bt_metrics_free(m);
}

static void test_timeline__interleaved_operations_get_their_own_track(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *a, *b;
  char *j;
  (void)state;
  assert_status(BT_OK, bt_timeline_start(8));
  assert_status(BT_OK, bt_tracer_new(&a, m, "first"));
  bt_test_sleep_ns(100000);
  assert_status(BT_OK, bt_tracer_new(&b, m, "second"));
  bt_test_sleep_ns(100000);
  assert_status(BT_OK, bt_tracer_finish(a)); /* a ends inside b: partial overlap */
  bt_test_sleep_ns(100000);
  assert_status(BT_OK, bt_tracer_finish(b));
  bt_tracer_free(a);
  bt_tracer_free(b);
  j = bt_test_timeline_json();
  assert_non_null(strstr(j, "overlapping 1"));
  free(j);
  assert_status(BT_OK, bt_timeline_stop());
  bt_metrics_free(m);
}

static void test_timeline__phases_past_the_limit_are_counted(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  char *j;
  (void)state;
  assert_status(BT_OK, bt_timeline_start(2));
  one_op(m, "chatty", 70);
  j = bt_test_timeline_json();
  assert_u64_eq(bt_test_count_of(j, "\"cat\":\"phase\""), 64);
  assert_non_null(strstr(j, "\"phases_lost\":6"));
  free(j);
  assert_status(BT_OK, bt_timeline_stop());
  bt_metrics_free(m);
}

static void test_timeline__write_file(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  char dir[] = "/tmp/bt_trace_XXXXXX", path[128];
  FILE *fp;
  char head[32] = {0};
  (void)state;
  assert_status(BT_OK, bt_timeline_start(4));
  one_op(m, "written", 2);
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.json", dir);
  assert_status(BT_OK, bt_timeline_write(path));
  fp = fopen(path, "r");
  assert_non_null(fp);
  assert_true(fread(head, 1, sizeof head - 1, fp) > 0);
  fclose(fp);
  assert_non_null(strstr(head, "{\"displayTimeUnit\":\"ns\""));
  unlink(path);
  snprintf(path, sizeof path, "%s/missing/t.json", dir);
  assert_status(BT_E_IO, bt_timeline_write(path));
  rmdir(dir);
  assert_status(BT_OK, bt_timeline_stop());
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline__bad_arguments),
      cmocka_unit_test(test_timeline__off_until_started),
      cmocka_unit_test(test_timeline__ring_keeps_newest_and_counts_dropped),
      cmocka_unit_test(test_timeline__stop_keeps_what_was_kept),
      cmocka_unit_test(test_timeline__interleaved_operations_get_their_own_track),
      cmocka_unit_test(test_timeline__phases_past_the_limit_are_counted),
      cmocka_unit_test(test_timeline__write_file),
  };
  return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
