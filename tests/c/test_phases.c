/* The process-wide phase table: built-in phases, registered (custom) phases. */
#include "bt_test.h"

static void test_phases__builtin_table(void **state) {
  static const char *const names[4] = {"extract", "convert", "network", "materialize"};
  static const int held[4] = {1, 0, 0, 1};
  bt_phase_id p;
  (void)state;
  assert_int_equal(BT_PHASE_EXTRACT, 0);
  assert_int_equal(BT_PHASE_CONVERT, 1);
  assert_int_equal(BT_PHASE_NETWORK, 2);
  assert_int_equal(BT_PHASE_MATERIALIZE, 3);
  assert_int_equal(bt_phase_count(), 4); /* nothing registered yet in this process */
  for (p = 0; p < 4; p++) {
    const char *name = NULL;
    int gil = -7;
    bt_phase_id id = -1;
    assert_status(BT_OK, bt_phase_get_info(&name, &gil, p));
    assert_non_null(name);
    assert_string_equal(name, names[p]);
    assert_int_equal(gil, held[p]);
    assert_status(BT_OK, bt_phase_lookup(&id, names[p]));
    assert_int_equal(id, p);
    /* registering a built-in with its own GIL state finds it */
    id = -1;
    assert_status(BT_OK, bt_phase_register(&id, names[p], held[p]));
    assert_int_equal(id, p);
  }
  assert_int_equal(bt_phase_count(), 4);
}

/* Either out pointer of bt_phase_info may be NULL. */
static void test_phases__info_out_pointers_optional(void **state) {
  const char *name = NULL;
  int gil = -7;
  (void)state;
  assert_status(BT_OK, bt_phase_get_info(NULL, NULL, BT_PHASE_NETWORK));
  assert_status(BT_OK, bt_phase_get_info(&name, NULL, BT_PHASE_NETWORK));
  assert_string_equal(name, "network");
  assert_status(BT_OK, bt_phase_get_info(NULL, &gil, BT_PHASE_NETWORK));
  assert_int_equal(gil, 0);
}

/* A built-in registered with the other GIL state is a conflict. */
static void test_phases__builtin_conflict(void **state) {
  bt_phase_id id = 77;
  (void)state;
  assert_status(BT_E_CONFLICT, bt_phase_register(&id, "extract", 0));
  assert_status(BT_E_CONFLICT, bt_phase_register(&id, "network", 1));
  assert_int_equal(id, 77);
  assert_int_equal(bt_phase_count(), 4);
}

/* Registering is idempotent by name; any nonzero gil_held means held. */
static void test_phases__register_idempotent_by_name(void **state) {
  bt_phase_id a = -1, b = -1, c = -1, found = -1;
  uint32_t count = bt_phase_count();
  const char *name = NULL;
  int gil = -1;
  (void)state;
  assert_status(BT_OK, bt_phase_register(&a, "serialize", 1));
  assert_int_equal(a, (bt_phase_id)count); /* ids are 0 .. count-1 */
  assert_int_equal(bt_phase_count(), count + 1);
  assert_status(BT_OK, bt_phase_register(&b, "serialize", 1));
  assert_status(BT_OK, bt_phase_register(&c, "serialize", 42));
  assert_int_equal(b, a);
  assert_int_equal(c, a);
  assert_int_equal(bt_phase_count(), count + 1);
  assert_status(BT_OK, bt_phase_lookup(&found, "serialize"));
  assert_int_equal(found, a);
  assert_status(BT_OK, bt_phase_get_info(&name, &gil, a));
  assert_string_equal(name, "serialize");
  assert_int_equal(gil, 1);
}

/* The other GIL state under a registered name: BT_E_CONFLICT, nothing changes. */
static void test_phases__register_conflict(void **state) {
  bt_phase_id id = -1, out = 555;
  uint32_t count;
  int gil = -1;
  (void)state;
  assert_status(BT_OK, bt_phase_register(&id, "compress", 0));
  count = bt_phase_count();
  assert_status(BT_E_CONFLICT, bt_phase_register(&out, "compress", 1));
  assert_int_equal(out, 555);
  assert_int_equal(bt_phase_count(), count);
  assert_status(BT_OK, bt_phase_get_info(NULL, &gil, id));
  assert_int_equal(gil, 0);
  assert_status(BT_OK, bt_phase_register(&out, "compress", 0));
  assert_int_equal(out, id);
}

static void test_phases__lookup_unknown_not_found(void **state) {
  bt_phase_id id = 999;
  (void)state;
  assert_status(BT_E_NOT_FOUND, bt_phase_lookup(&id, "never_registered"));
  assert_status(BT_E_NOT_FOUND, bt_phase_lookup(&id, "Extract")); /* case-sensitive */
  assert_status(BT_E_NOT_FOUND, bt_phase_lookup(&id, "total"));   /* a pseudo-phase */
  assert_int_equal(id, 999);
}

/* The name is copied at registration; the interned pointer stays valid. */
static void test_phases__name_copied(void **state) {
  bt_phase_id id = -1, found = -1;
  const char *name = NULL;
  char buf[32];
  (void)state;
  strcpy(buf, "copied_phase");
  assert_status(BT_OK, bt_phase_register(&id, buf, 0));
  memset(buf, 'z', sizeof buf - 1);
  buf[sizeof buf - 1] = '\0';
  assert_status(BT_OK, bt_phase_get_info(&name, NULL, id));
  assert_string_equal(name, "copied_phase");
  assert_status(BT_OK, bt_phase_lookup(&found, "copied_phase"));
  assert_int_equal(found, id);
}

/* Multibyte UTF-8 names are fine. */
static void test_phases__utf8_name(void **state) {
  bt_phase_id id = -1, found = -1;
  const char *name = NULL;
  (void)state;
  assert_status(BT_OK, bt_phase_register(&id, "d\xc3\xa9" "codage \xe6\x97\xa5\xf0\x9f\x98\x80", 1));
  assert_status(BT_OK, bt_phase_lookup(&found, "d\xc3\xa9" "codage \xe6\x97\xa5\xf0\x9f\x98\x80"));
  assert_int_equal(found, id);
  assert_status(BT_OK, bt_phase_get_info(&name, NULL, id));
  assert_string_equal(name, "d\xc3\xa9" "codage \xe6\x97\xa5\xf0\x9f\x98\x80");
}

/* A registered phase works in a tracer; its GIL state counts in held/released. */
static void test_phases__custom_phase_in_tracer(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_phase_id held = -1, released = -1;
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = NULL;
  (void)state;
  assert_status(BT_OK, bt_phase_register(&held, "validate", 1));
  assert_status(BT_OK, bt_phase_register(&released, "decompress", 0));
  assert_status(BT_OK, bt_tracer_new(&t, m, "custom_tracer"));
  assert_status(BT_OK, bt_phase_begin(t, held));
  bt_test_sleep_ns(BT_TEST_MS);
  assert_status(BT_OK, bt_phase_end(t, held));
  assert_status(BT_OK, bt_phase_begin(t, released));
  bt_test_sleep_ns(BT_TEST_MS);
  assert_status(BT_OK, bt_phase_end(t, released));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_begin(t, held));
  assert_status(BT_OK, bt_phase_end(t, held));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);

  assert_int_equal(tm.phase_count, bt_phase_count());
  assert_int_equal(tm.phase_entries[held], 2);
  assert_int_equal(tm.phase_entries[released], 1);
  assert_u64_ge(tm.phase_ns[held], BT_TEST_AT_LEAST(BT_TEST_MS));
  assert_u64_ge(tm.phase_ns[released], BT_TEST_AT_LEAST(BT_TEST_MS));
  assert_u64_eq(tm.gil_held_ns, tm.phase_ns[held] + tm.phase_ns[BT_PHASE_EXTRACT]);
  assert_u64_eq(tm.gil_released_ns, tm.phase_ns[released]);
  assert_u64_eq(tm.unattributed_ns,
                tm.total_ns - tm.phase_ns[held] - tm.phase_ns[released] - tm.phase_ns[BT_PHASE_EXTRACT]);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_phase_stats ps = bt_test_phase_stats(s, "custom_tracer", held);
    assert_string_equal(ps.name, "validate");
    assert_int_equal(ps.gil_held, 1);
    assert_u64_eq(ps.count, 1);
    assert_u64_eq(ps.entries, 2);
    assert_u64_eq(ps.sum_ns, tm.phase_ns[held]);
    ps = bt_test_phase_stats(s, "custom_tracer", released);
    assert_string_equal(ps.name, "decompress");
    assert_int_equal(ps.gil_held, 0);
    assert_u64_eq(ps.sum_ns, tm.phase_ns[released]);
    assert_u64_eq(bt_test_op_stats(s, "custom_tracer").gil_held_ns, tm.gil_held_ns);
    assert_u64_eq(bt_test_op_stats(s, "custom_tracer").gil_released_ns, tm.gil_released_ns);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* A registered phase through bt_metrics_record: exact GIL sums. */
static void test_phases__custom_phase_in_record(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_phase_id held = -1, released = -1;
  bt_timing t;
  bt_snapshot *s;
  bt_op_stats os;
  (void)state;
  assert_status(BT_OK, bt_phase_register(&held, "validate", 1));
  assert_status(BT_OK, bt_phase_register(&released, "decompress", 0));
  t = bt_test_timing("custom_record", 1000);
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 10, 1);
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 20, 1);
  bt_test_set_phase(&t, held, 100, 3);
  bt_test_set_phase(&t, released, 50, 1);
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  os = bt_test_op_stats(s, "custom_record");
  assert_u64_eq(os.gil_held_ns, 110);
  assert_u64_eq(os.gil_released_ns, 70);
  assert_u64_eq(os.unattributed_ns, 1000 - 180);
  assert_u64_eq(bt_test_phase_stats(s, "custom_record", held).entries, 3);
  assert_u64_eq(bt_test_phase_stats(s, "custom_record", held).sum_ns, 100);
  assert_u64_eq(bt_test_phase_stats(s, "custom_record", released).sum_ns, 50);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Phases register while recording is off. */
static void test_phases__register_while_disabled(void **state) {
  bt_phase_id id = -1, found = -1;
  (void)state;
  bt_set_enabled(0);
  assert_status(BT_OK, bt_phase_register(&id, "registered_while_off", 0));
  bt_set_enabled(1);
  assert_true(id >= 4);
  assert_true((uint32_t)id < bt_phase_count());
  assert_status(BT_OK, bt_phase_lookup(&found, "registered_while_off"));
  assert_int_equal(found, id);
}

#define RACE_THREADS 8

struct race_arg {
  int index;
  bt_phase_id same;
  bt_phase_id own;
  int status_same;
  int status_own;
};

static void *race_register(void *arg) {
  struct race_arg *a = (struct race_arg *)arg;
  char name[32];
  snprintf(name, sizeof name, "racer_%d", a->index);
  a->status_same = bt_phase_register(&a->same, "contended", 0);
  a->status_own = bt_phase_register(&a->own, name, a->index & 1);
  return NULL;
}

/* Threads registering at once: one id per name, no id handed out twice. */
static void test_phases__concurrent_register(void **state) {
  struct race_arg args[RACE_THREADS];
  uint32_t before = bt_phase_count();
  int i, j;
  (void)state;
  memset(args, 0, sizeof args);
  for (i = 0; i < RACE_THREADS; i++) args[i].index = i;
  bt_test_run_threads(RACE_THREADS, race_register, args, sizeof args[0]);
  assert_int_equal(bt_phase_count(), before + 1 + RACE_THREADS);
  for (i = 0; i < RACE_THREADS; i++) {
    const char *name = NULL;
    char want[32];
    int gil = -1;
    assert_status(BT_OK, args[i].status_same);
    assert_status(BT_OK, args[i].status_own);
    assert_int_equal(args[i].same, args[0].same);
    assert_true(args[i].own != args[i].same);
    for (j = 0; j < i; j++) assert_true(args[i].own != args[j].own);
    snprintf(want, sizeof want, "racer_%d", i);
    assert_status(BT_OK, bt_phase_get_info(&name, &gil, args[i].own));
    assert_string_equal(name, want);
    assert_int_equal(gil, i & 1);
    assert_true((uint32_t)args[i].own < bt_phase_count());
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_phases__builtin_table),
      cmocka_unit_test(test_phases__info_out_pointers_optional),
      cmocka_unit_test(test_phases__builtin_conflict),
      cmocka_unit_test(test_phases__register_idempotent_by_name),
      cmocka_unit_test(test_phases__register_conflict),
      cmocka_unit_test(test_phases__lookup_unknown_not_found),
      cmocka_unit_test(test_phases__name_copied),
      cmocka_unit_test(test_phases__utf8_name),
      cmocka_unit_test(test_phases__custom_phase_in_tracer),
      cmocka_unit_test(test_phases__custom_phase_in_record),
      cmocka_unit_test(test_phases__register_while_disabled),
      cmocka_unit_test(test_phases__concurrent_register),
  };
  return cmocka_run_group_tests_name("phases", tests, NULL, NULL);
}
