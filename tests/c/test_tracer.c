/* The tracer: lifecycle, phases, counters, finish, bound operations. */
#include "bt_test.h"

static const bt_phase_id k_builtin[4] = {BT_PHASE_EXTRACT, BT_PHASE_CONVERT, BT_PHASE_NETWORK,
                                         BT_PHASE_MATERIALIZE};

static bt_tracer *new_tracer(bt_metrics *m, const char *name) {
  bt_tracer *t = NULL;
  assert_status(BT_OK, bt_tracer_new(&t, m, name));
  assert_non_null(t);
  return t;
}

static void timed_phase(bt_tracer *t, bt_phase_id phase, uint64_t ns) {
  assert_status(BT_OK, bt_phase_begin(t, phase));
  bt_test_sleep_ns(ns);
  assert_status(BT_OK, bt_phase_end(t, phase));
}

/* The seed's basic case: new, the four phases, finish. */
static void test_tracer__lifecycle_four_phases(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t;
  uint64_t before, after, sum = 0;
  int i;
  (void)state;

  before = bt_clock_now_ns();
  t = new_tracer(m, "insert_many");
  for (i = 0; i < 4; i++) timed_phase(t, k_builtin[i], BT_TEST_MS);
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  after = bt_clock_now_ns();
  bt_tracer_free(t);

  assert_non_null(tm.op_name);
  assert_string_equal(tm.op_name, "insert_many");
  assert_int_equal(tm.struct_size, sizeof(bt_timing));
  for (i = 0; i < 4; i++) {
    assert_u64_ge(tm.phase_ns[i], BT_TEST_AT_LEAST(BT_TEST_MS));
    assert_int_equal(tm.phase_entries[i], 1);
    sum += tm.phase_ns[i];
  }
  for (i = 4; i < BT_MAX_PHASES; i++) {
    assert_u64_eq(tm.phase_ns[i], 0);
    assert_int_equal(tm.phase_entries[i], 0);
  }
  assert_u64_ge(tm.total_ns, sum);
  assert_u64_le(tm.total_ns, after - before);
  assert_u64_eq(tm.unattributed_ns, tm.total_ns - sum);
  assert_u64_eq(tm.gil_held_ns, tm.phase_ns[BT_PHASE_EXTRACT] + tm.phase_ns[BT_PHASE_MATERIALIZE]);
  assert_u64_eq(tm.gil_released_ns, tm.phase_ns[BT_PHASE_CONVERT] + tm.phase_ns[BT_PHASE_NETWORK]);
  assert_u64_eq(tm.gil_wait_ns, 0);
  assert_u64_eq(tm.items, 0);
  assert_int_equal(tm.gil_releases, 0);
  assert_int_equal(tm.workers, 0);
  assert_int_equal(tm.flags, 0);
  assert_int_equal(tm.phase_count, bt_phase_count());

  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "insert_many");
    assert_u64_eq(os.count, 1);
    assert_u64_eq(os.errors, 0);
    assert_u64_eq(os.left_open, 0);
    assert_u64_eq(os.total_ns, tm.total_ns);
    assert_u64_eq(os.gil_held_ns, tm.gil_held_ns);
    assert_u64_eq(os.gil_released_ns, tm.gil_released_ns);
    assert_u64_eq(os.unattributed_ns, tm.unattributed_ns);
    for (i = 0; i < 4; i++) {
      bt_phase_stats ps = bt_test_phase_stats(s, "insert_many", k_builtin[i]);
      assert_u64_eq(ps.count, 1);
      assert_u64_eq(ps.entries, 1);
      assert_u64_eq(ps.sum_ns, tm.phase_ns[i]);
      assert_u64_eq(ps.min_ns, tm.phase_ns[i]);
      assert_u64_eq(ps.max_ns, tm.phase_ns[i]);
    }
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* The clock starts at bt_tracer_new: time before the first phase is unattributed. */
static void test_tracer__clock_starts_at_creation(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "clock_start");
  (void)state;
  bt_test_sleep_ns(2 * BT_TEST_MS);
  timed_phase(t, BT_PHASE_EXTRACT, 0);
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_u64_ge(tm.total_ns, BT_TEST_AT_LEAST(2 * BT_TEST_MS));
  assert_u64_ge(tm.unattributed_ns, BT_TEST_AT_LEAST(2 * BT_TEST_MS));
  assert_u64_eq(tm.unattributed_ns, tm.total_ns - tm.phase_ns[BT_PHASE_EXTRACT]);
  bt_metrics_free(m);
}

/* The operation name is copied at creation; the pointer handed out outlives the sink. */
static void test_tracer__op_name_copied_and_interned(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  char name[32];
  bt_tracer *t;
  (void)state;
  strcpy(name, "copied_name");
  t = new_tracer(m, name);
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_string_equal(tm.op_name, "copied_name");
  assert_u64_eq(bt_test_count(m, "copied_name"), 1);
  bt_metrics_free(m);
  /* process lifetime: still readable after the sink is gone */
  assert_string_equal(tm.op_name, "copied_name");
}

/* Each thread remembers its last lookup by the caller's pointer; a buffer
 * reused for another name (same length, shorter, longer) must not hit it,
 * and neither must the same buffer in another sink. */
static void test_tracer__reused_name_buffer_not_mistaken(void **state) {
  static const char *const names[] = {"alpha_op", "alpha_oq", "alpha", "alpha_op_x", "alpha_op", ""};
  bt_metrics *m = bt_test_metrics_new(), *other = bt_test_metrics_new();
  char buf[32];
  size_t i;
  (void)state;
  for (i = 0; names[i][0]; i++) {
    bt_tracer *t;
    strcpy(buf, names[i]);
    assert_status(BT_OK, bt_tracer_new(&t, m, buf));
    assert_status(BT_OK, bt_tracer_finish(t));
    bt_tracer_free(t);
  }
  {
    bt_tracer *t; /* buf still holds "alpha_op": the other sink's own count */
    assert_status(BT_OK, bt_tracer_new(&t, other, buf));
    assert_status(BT_OK, bt_tracer_finish(t));
    bt_tracer_free(t);
  }
  assert_u64_eq(bt_test_count(m, "alpha_op"), 2);
  assert_u64_eq(bt_test_count(m, "alpha_oq"), 1);
  assert_u64_eq(bt_test_count(m, "alpha"), 1);
  assert_u64_eq(bt_test_count(m, "alpha_op_x"), 1);
  assert_u64_eq(bt_test_count(other, "alpha_op"), 1);
  bt_metrics_free(m);
  bt_metrics_free(other);
}

/* One operation through `via` (the caller's buffer as it is now): counted
 * under `expect`. */
static void once_counted_as(bt_metrics *m, const char *via, const char *expect) {
  const uint64_t before = bt_test_count(m, expect);
  bt_tracer *t;
  assert_status(BT_OK, bt_tracer_new(&t, m, via));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, expect), before + 1);
}

/* The same, at every alignment of the caller's text and in exactly sized
 * heap buffers (the last lookup's test reads the text in aligned words):
 * a name that differs in a byte at a word's edge or inside one, is shorter
 * or is longer misses; names too long for the word test (over 56 bytes)
 * are compared as well. */
static void test_tracer__reused_name_buffer_every_alignment(void **state) {
  static const char base[] = "svc.endpoint_0123456789_abcdefghijklmnopqrstuvwxyz_0123456789";
  const size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 55, 56, 57, sizeof base - 1};
  bt_metrics *m = bt_test_metrics_new();
  char buf[96];
  size_t a, l, k;
  (void)state;
  for (a = 0; a < 8; a++) {
    for (l = 0; l < sizeof lens / sizeof lens[0]; l++) {
      const size_t len = lens[l];
      const size_t at[] = {0, 6, 7, 8, len / 2, len - 1};
      char name[96], other[96], *heap;
      memcpy(name, base, len);
      name[len] = '\0';
      memcpy(buf + a, name, len + 1);
      once_counted_as(m, buf + a, name);
      once_counted_as(m, buf + a, name); /* the remembered lookup */
      for (k = 0; k < sizeof at / sizeof at[0]; k++) {
        if (at[k] >= len) continue;
        buf[a + at[k]] = '#';
        memcpy(other, buf + a, len + 1);
        once_counted_as(m, buf + a, other);
        buf[a + at[k]] = name[at[k]];
        once_counted_as(m, buf + a, name);
      }
      buf[a + len] = 'y'; /* longer */
      buf[a + len + 1] = '\0';
      memcpy(other, buf + a, len + 2);
      once_counted_as(m, buf + a, other);
      heap = malloc(len + 1); /* exactly sized: its last word is partly outside */
      assert_non_null(heap);
      memcpy(heap, name, len + 1);
      once_counted_as(m, heap, name);
      once_counted_as(m, heap, name);
      heap[len - 1] = '\0'; /* shorter */
      if (len > 1) once_counted_as(m, heap, heap);
      free(heap);
    }
  }
  bt_metrics_free(m);
}

/* Nothing is recorded until finish; a tracer freed unfinished records nothing. */
static void test_tracer__free_before_finish_records_nothing(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = new_tracer(m, "abandoned");
  (void)state;
  timed_phase(t, BT_PHASE_EXTRACT, 0);
  assert_status(BT_OK, bt_tracer_add_items(t, 5));
  assert_u64_eq(bt_test_count(m, "abandoned"), 0);
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "abandoned"), 0);
  bt_metrics_free(m);
}

static void test_tracer__finish_with_null_out_records(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = new_tracer(m, "no_out");
  (void)state;
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "no_out"), 1);
  bt_metrics_free(m);
}

/* The seed's partial case: only some phases entered. */
static void test_tracer__partial_phases(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "partial");
  (void)state;
  timed_phase(t, BT_PHASE_EXTRACT, BT_TEST_MS);
  timed_phase(t, BT_PHASE_NETWORK, BT_TEST_MS);
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);

  assert_int_equal(tm.phase_entries[BT_PHASE_EXTRACT], 1);
  assert_int_equal(tm.phase_entries[BT_PHASE_NETWORK], 1);
  assert_int_equal(tm.phase_entries[BT_PHASE_CONVERT], 0);
  assert_int_equal(tm.phase_entries[BT_PHASE_MATERIALIZE], 0);
  assert_u64_eq(tm.phase_ns[BT_PHASE_CONVERT], 0);
  assert_u64_eq(tm.phase_ns[BT_PHASE_MATERIALIZE], 0);
  assert_u64_ge(tm.phase_ns[BT_PHASE_EXTRACT], BT_TEST_AT_LEAST(BT_TEST_MS));
  assert_u64_ge(tm.phase_ns[BT_PHASE_NETWORK], BT_TEST_AT_LEAST(BT_TEST_MS));
  assert_u64_eq(tm.gil_held_ns, tm.phase_ns[BT_PHASE_EXTRACT]);
  assert_u64_eq(tm.gil_released_ns, tm.phase_ns[BT_PHASE_NETWORK]);
  assert_u64_eq(tm.unattributed_ns,
                tm.total_ns - tm.phase_ns[BT_PHASE_EXTRACT] - tm.phase_ns[BT_PHASE_NETWORK]);
  assert_int_equal(tm.flags, 0);

  {
    bt_snapshot *s = bt_test_snapshot(m);
    assert_u64_eq(bt_test_phase_stats(s, "partial", BT_PHASE_EXTRACT).count, 1);
    assert_u64_eq(bt_test_phase_stats(s, "partial", BT_PHASE_NETWORK).count, 1);
    assert_u64_eq(bt_test_phase_stats(s, "partial", BT_PHASE_CONVERT).count, 0);
    assert_u64_eq(bt_test_phase_stats(s, "partial", BT_PHASE_MATERIALIZE).count, 0);
    assert_u64_eq(bt_test_phase_stats(s, "partial", BT_PHASE_MATERIALIZE).entries, 0);
    assert_u64_eq(bt_test_phase_stats(s, "partial", BT_PHASE_TOTAL).count, 1);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* No phase at all: the whole operation is unattributed. */
static void test_tracer__no_phases_all_unattributed(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "bare");
  (void)state;
  bt_test_sleep_ns(BT_TEST_MS);
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_u64_ge(tm.total_ns, BT_TEST_AT_LEAST(BT_TEST_MS));
  assert_u64_eq(tm.unattributed_ns, tm.total_ns);
  assert_u64_eq(tm.gil_held_ns, 0);
  assert_u64_eq(tm.gil_released_ns, 0);
  bt_metrics_free(m);
}

/* A phase still open at finish is closed there and flagged. */
static void test_tracer__phase_left_open_closed_at_finish(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "left_open");
  (void)state;
  timed_phase(t, BT_PHASE_EXTRACT, 0);
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_NETWORK));
  bt_test_sleep_ns(2 * BT_TEST_MS);
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  assert_status(BT_E_FINISHED, bt_phase_end(t, BT_PHASE_NETWORK));
  bt_tracer_free(t);

  assert_true((tm.flags & BT_TIMING_PHASE_LEFT_OPEN) != 0);
  assert_true((tm.flags & BT_TIMING_ERROR) == 0);
  assert_int_equal(tm.phase_entries[BT_PHASE_NETWORK], 1);
  assert_u64_ge(tm.phase_ns[BT_PHASE_NETWORK], BT_TEST_AT_LEAST(2 * BT_TEST_MS));
  assert_u64_le(tm.phase_ns[BT_PHASE_EXTRACT] + tm.phase_ns[BT_PHASE_NETWORK], tm.total_ns);
  assert_u64_eq(tm.gil_released_ns, tm.phase_ns[BT_PHASE_NETWORK]);
  assert_u64_eq(tm.unattributed_ns,
                tm.total_ns - tm.phase_ns[BT_PHASE_EXTRACT] - tm.phase_ns[BT_PHASE_NETWORK]);

  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "left_open");
    bt_phase_stats ps = bt_test_phase_stats(s, "left_open", BT_PHASE_NETWORK);
    assert_u64_eq(os.count, 1);
    assert_u64_eq(os.left_open, 1);
    assert_u64_eq(os.errors, 0);
    assert_u64_eq(ps.count, 1);
    assert_u64_eq(ps.sum_ns, tm.phase_ns[BT_PHASE_NETWORK]);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* Entering a phase again accumulates its time and counts the entries. */
static void test_tracer__repeated_phase_accumulates(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "repeated");
  int i;
  (void)state;
  for (i = 0; i < 3; i++) {
    timed_phase(t, BT_PHASE_CONVERT, BT_TEST_MS);
    timed_phase(t, BT_PHASE_NETWORK, 0);
  }
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_int_equal(tm.phase_entries[BT_PHASE_CONVERT], 3);
  assert_int_equal(tm.phase_entries[BT_PHASE_NETWORK], 3);
  assert_u64_ge(tm.phase_ns[BT_PHASE_CONVERT], BT_TEST_AT_LEAST(3 * BT_TEST_MS));
  assert_u64_eq(tm.gil_released_ns, tm.phase_ns[BT_PHASE_CONVERT] + tm.phase_ns[BT_PHASE_NETWORK]);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_phase_stats ps = bt_test_phase_stats(s, "repeated", BT_PHASE_CONVERT);
    assert_u64_eq(ps.count, 1); /* one operation ... */
    assert_u64_eq(ps.entries, 3); /* ... that entered it three times */
    assert_u64_eq(ps.sum_ns, tm.phase_ns[BT_PHASE_CONVERT]);
    assert_u64_eq(ps.max_ns, tm.phase_ns[BT_PHASE_CONVERT]);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* begin while a phase is open: BT_E_PHASE_OPEN and nothing changes. */
static void test_tracer__begin_while_open_changes_nothing(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "double_begin");
  (void)state;
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_E_PHASE_OPEN, bt_phase_begin(t, BT_PHASE_CONVERT));
  assert_status(BT_E_PHASE_OPEN, bt_phase_begin(t, BT_PHASE_EXTRACT));
  /* extract is still the open phase */
  assert_status(BT_E_PHASE_NOT_OPEN, bt_phase_end(t, BT_PHASE_CONVERT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_int_equal(tm.phase_entries[BT_PHASE_EXTRACT], 1);
  assert_int_equal(tm.phase_entries[BT_PHASE_CONVERT], 0);
  assert_u64_eq(tm.phase_ns[BT_PHASE_CONVERT], 0);
  assert_int_equal(tm.flags, 0);
  bt_metrics_free(m);
}

/* end on a closed phase or on the wrong phase: BT_E_PHASE_NOT_OPEN, nothing changes. */
static void test_tracer__end_wrong_or_closed_phase_changes_nothing(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "bad_end");
  (void)state;
  assert_status(BT_E_PHASE_NOT_OPEN, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_NETWORK));
  assert_status(BT_E_PHASE_NOT_OPEN, bt_phase_end(t, BT_PHASE_CONVERT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_NETWORK));
  assert_status(BT_E_PHASE_NOT_OPEN, bt_phase_end(t, BT_PHASE_NETWORK));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_int_equal(tm.phase_entries[BT_PHASE_NETWORK], 1);
  assert_int_equal(tm.phase_entries[BT_PHASE_CONVERT], 0);
  assert_int_equal(tm.phase_entries[BT_PHASE_EXTRACT], 0);
  assert_int_equal(tm.flags, 0);
  bt_metrics_free(m);
}

/* Items, GIL releases and waits, workers (largest wins), error flag. */
static void test_tracer__counters_items_gil_workers_error(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = new_tracer(m, "counters");
  (void)state;
  assert_status(BT_OK, bt_tracer_add_items(t, 3));
  assert_status(BT_OK, bt_tracer_add_items(t, 4));
  assert_status(BT_OK, bt_tracer_add_items(t, 0));
  assert_status(BT_OK, bt_tracer_add_gil_release(t));
  assert_status(BT_OK, bt_tracer_add_gil_release(t));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, 100));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, 50));
  assert_status(BT_OK, bt_tracer_set_workers(t, 4));
  assert_status(BT_OK, bt_tracer_set_workers(t, 2));
  assert_status(BT_OK, bt_tracer_set_error(t));
  assert_status(BT_OK, bt_tracer_set_error(t));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);

  assert_u64_eq(tm.items, 7);
  assert_int_equal(tm.gil_releases, 2);
  assert_u64_eq(tm.gil_wait_ns, 150);
  assert_int_equal(tm.workers, 4);
  assert_int_equal(tm.flags, BT_TIMING_ERROR);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "counters");
    assert_u64_eq(os.count, 1);
    assert_u64_eq(os.errors, 1);
    assert_u64_eq(os.items, 7);
    assert_u64_eq(os.gil_releases, 2);
    assert_u64_eq(os.gil_wait_ns, 150);
    assert_u64_eq(os.parallel_ops, 1);
    assert_int_equal(os.workers_max, 4);
    assert_int_equal(os.flags, 0);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* One worker is not parallel; workers_max keeps the largest over operations. */
static void test_tracer__one_worker_is_not_parallel(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t;
  (void)state;
  t = new_tracer(m, "workers");
  assert_status(BT_OK, bt_tracer_set_workers(t, 1));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  t = new_tracer(m, "workers");
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "workers");
    assert_u64_eq(os.count, 2);
    assert_u64_eq(os.parallel_ops, 0);
    assert_int_equal(os.workers_max, 1);
    bt_snapshot_free(s);
  }
  t = new_tracer(m, "workers");
  assert_status(BT_OK, bt_tracer_set_workers(t, 8));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "workers");
    assert_u64_eq(os.count, 3);
    assert_u64_eq(os.parallel_ops, 1);
    assert_int_equal(os.workers_max, 8);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* A too-small out struct: BT_E_STRUCT_SIZE, nothing recorded, the tracer stays open. */
static void test_tracer__finish_small_struct_keeps_tracer_open(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm;
  bt_tracer *t = new_tracer(m, "small_out");
  (void)state;
  memset(&tm, 0xA5, sizeof tm);
  tm.struct_size = sizeof(bt_timing) - 1;
  assert_status(BT_E_STRUCT_SIZE, bt_tracer_finish_timing(&tm, t));
  assert_u64_eq(bt_test_count(m, "small_out"), 0);
  {
    bt_timing pattern;
    memset(&pattern, 0xA5, sizeof pattern);
    pattern.struct_size = sizeof(bt_timing) - 1;
    assert_memory_equal(&tm, &pattern, sizeof tm);
  }
  /* still usable */
  timed_phase(t, BT_PHASE_EXTRACT, 0);
  tm.struct_size = sizeof tm;
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  assert_int_equal(tm.phase_entries[BT_PHASE_EXTRACT], 1);
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "small_out"), 1);
  bt_metrics_free(m);
}

/* After finish every call says BT_E_FINISHED, and nothing more is recorded. */
static void test_tracer__calls_after_finish_are_finished(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_timing again;
  bt_tracer *t = new_tracer(m, "finished");
  (void)state;
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  assert_status(BT_E_FINISHED, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_E_FINISHED, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_E_FINISHED, bt_tracer_add_items(t, 1));
  assert_status(BT_E_FINISHED, bt_tracer_add_gil_release(t));
  assert_status(BT_E_FINISHED, bt_tracer_add_gil_wait(t, 1));
  assert_status(BT_E_FINISHED, bt_tracer_set_workers(t, 2));
  assert_status(BT_E_FINISHED, bt_tracer_set_error(t));
  assert_status(BT_E_FINISHED, bt_tracer_finish(t));
  memset(&again, 0x5A, sizeof again);
  again.struct_size = sizeof again;
  assert_status(BT_E_FINISHED, bt_tracer_finish_timing(&again, t));
  assert_int_equal(again.flags, 0x5A5A5A5Au); /* untouched */
  bt_tracer_free(t);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "finished");
    assert_u64_eq(os.count, 1);
    assert_u64_eq(os.items, 0);
    assert_u64_eq(os.errors, 0);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* bt_op_lookup: same name, same handle; tracers on it record under the name. */
static void test_tracer__op_lookup_same_handle_new_op_records(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *a = NULL, *b = NULL, *c = NULL;
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = NULL;
  int i;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&a, m, "find_one"));
  assert_status(BT_OK, bt_op_lookup(&b, m, "find_one"));
  assert_status(BT_OK, bt_op_lookup(&c, m, "find_many"));
  assert_non_null(a);
  assert_ptr_equal(a, b);
  assert_true(a != c);
  assert_string_equal(bt_op_name(a), "find_one");
  assert_string_equal(bt_op_name(c), "find_many");

  for (i = 0; i < 3; i++) {
    assert_status(BT_OK, bt_tracer_new_op(&t, a));
    assert_non_null(t);
    timed_phase(t, BT_PHASE_MATERIALIZE, 0);
    assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
    bt_tracer_free(t);
    assert_string_equal(tm.op_name, "find_one");
  }
  /* bt_tracer_new by name lands in the same operation */
  t = new_tracer(m, "find_one");
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "find_one"), 4);
  assert_u64_eq(bt_test_count(m, "find_many"), 0);
  bt_metrics_free(m);
}

/* The same name in a private sink and in the global one: two operations. */
static void test_tracer__private_and_global_ops_kept_apart(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *priv = NULL, *glob = NULL, *glob2 = NULL;
  bt_tracer *t = NULL;
  uint64_t global_before;
  (void)state;
  global_before = bt_test_count(NULL, "tracer_kept_apart");
  assert_status(BT_OK, bt_op_lookup(&priv, m, "tracer_kept_apart"));
  assert_status(BT_OK, bt_op_lookup(&glob, NULL, "tracer_kept_apart"));
  assert_status(BT_OK, bt_op_lookup(&glob2, bt_metrics_global(), "tracer_kept_apart"));
  assert_true(priv != glob);
  assert_ptr_equal(glob, glob2);

  assert_status(BT_OK, bt_tracer_new_op(&t, priv));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "tracer_kept_apart"), 1);
  assert_u64_eq(bt_test_count(NULL, "tracer_kept_apart"), global_before);

  assert_status(BT_OK, bt_tracer_new_op(&t, glob));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  t = new_tracer(NULL, "tracer_kept_apart"); /* NULL sink = global */
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(m, "tracer_kept_apart"), 1);
  assert_u64_eq(bt_test_count(NULL, "tracer_kept_apart"), global_before + 2);
  assert_u64_eq(bt_test_count(bt_metrics_global(), "tracer_kept_apart"), global_before + 2);
  bt_metrics_free(m);
}

struct hand_off {
  bt_tracer *tracer;
  int step;
  int status[3];
};

static void *hand_off_step(void *arg) {
  struct hand_off *h = (struct hand_off *)arg;
  if (h->step == 0) {
    h->status[0] = bt_phase_begin(h->tracer, BT_PHASE_CONVERT);
    h->status[1] = bt_tracer_add_items(h->tracer, 2);
    h->status[2] = bt_phase_end(h->tracer, BT_PHASE_CONVERT);
  } else {
    h->status[0] = bt_phase_begin(h->tracer, BT_PHASE_MATERIALIZE);
    h->status[1] = bt_phase_end(h->tracer, BT_PHASE_MATERIALIZE);
    h->status[2] = bt_tracer_finish(h->tracer);
  }
  return NULL;
}

/* A tracer may move between threads (e.g. across an await). */
static void test_tracer__moves_between_threads(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  struct hand_off h;
  int step, i;
  (void)state;
  memset(&h, 0, sizeof h);
  h.tracer = new_tracer(m, "hand_off");
  assert_status(BT_OK, bt_phase_begin(h.tracer, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(h.tracer, BT_PHASE_EXTRACT));
  for (step = 0; step < 2; step++) {
    h.step = step;
    bt_test_run_threads(1, hand_off_step, &h, sizeof h);
    for (i = 0; i < 3; i++) assert_status(BT_OK, h.status[i]);
  }
  bt_tracer_free(h.tracer);
  {
    bt_snapshot *s = bt_test_snapshot(m);
    bt_op_stats os = bt_test_op_stats(s, "hand_off");
    assert_u64_eq(os.count, 1);
    assert_u64_eq(os.items, 2);
    assert_u64_eq(bt_test_phase_stats(s, "hand_off", BT_PHASE_EXTRACT).entries, 1);
    assert_u64_eq(bt_test_phase_stats(s, "hand_off", BT_PHASE_CONVERT).entries, 1);
    assert_u64_eq(bt_test_phase_stats(s, "hand_off", BT_PHASE_MATERIALIZE).entries, 1);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

/* A tracer's counters stop at 2^64 - 1 instead of wrapping to a small number. */
static void test_tracer__counters_saturate(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_tracer *t = NULL;
  bt_timing tm = BT_TIMING_INIT;
  (void)state;
  assert_status(BT_OK, bt_tracer_new(&t, m, "saturating"));
  assert_status(BT_OK, bt_tracer_add_items(t, UINT64_MAX));
  assert_status(BT_OK, bt_tracer_add_items(t, 2));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, UINT64_MAX - 1));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, 5));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  assert_u64_eq(tm.items, UINT64_MAX);
  assert_u64_eq(tm.gil_wait_ns, UINT64_MAX);
  bt_tracer_free(t);
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tracer__counters_saturate),
      cmocka_unit_test(test_tracer__lifecycle_four_phases),
      cmocka_unit_test(test_tracer__clock_starts_at_creation),
      cmocka_unit_test(test_tracer__op_name_copied_and_interned),
      cmocka_unit_test(test_tracer__reused_name_buffer_not_mistaken),
      cmocka_unit_test(test_tracer__reused_name_buffer_every_alignment),
      cmocka_unit_test(test_tracer__free_before_finish_records_nothing),
      cmocka_unit_test(test_tracer__finish_with_null_out_records),
      cmocka_unit_test(test_tracer__partial_phases),
      cmocka_unit_test(test_tracer__no_phases_all_unattributed),
      cmocka_unit_test(test_tracer__phase_left_open_closed_at_finish),
      cmocka_unit_test(test_tracer__repeated_phase_accumulates),
      cmocka_unit_test(test_tracer__begin_while_open_changes_nothing),
      cmocka_unit_test(test_tracer__end_wrong_or_closed_phase_changes_nothing),
      cmocka_unit_test(test_tracer__counters_items_gil_workers_error),
      cmocka_unit_test(test_tracer__one_worker_is_not_parallel),
      cmocka_unit_test(test_tracer__finish_small_struct_keeps_tracer_open),
      cmocka_unit_test(test_tracer__calls_after_finish_are_finished),
      cmocka_unit_test(test_tracer__op_lookup_same_handle_new_op_records),
      cmocka_unit_test(test_tracer__private_and_global_ops_kept_apart),
      cmocka_unit_test(test_tracer__moves_between_threads),
  };
  return cmocka_run_group_tests_name("tracer", tests, NULL, NULL);
}
