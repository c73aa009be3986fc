/*
 * Every bad input of the contract gets its documented status, never a crash,
 * and leaves out parameters and aggregates untouched.
 * (Phase-state errors and use after finish are in test_tracer.c too.)
 */
#include "bt_test.h"

#include <limits.h>

/* A pointer value no call hands out: out parameters start as this. */
static char g_sentinel_storage[4];
#define SENTINEL ((void *)g_sentinel_storage)

/* A private sink with one recorded operation and its snapshot. */
struct fixture {
  bt_metrics *m;
  bt_snapshot *s;
};

static int setup(void **state) {
  static struct fixture f;
  bt_timing t;
  if (bt_metrics_new(&f.m) != BT_OK) return -1;
  t = bt_test_timing("present", 1000);
  t.phase_ns[BT_PHASE_EXTRACT] = 100;
  t.phase_entries[BT_PHASE_EXTRACT] = 1;
  if (bt_metrics_record(f.m, &t) != BT_OK) return -1;
  if (bt_metrics_snapshot(&f.s, f.m) != BT_OK) return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_snapshot_free(f->s);
  bt_metrics_free(f->m);
  return 0;
}

/* ------------------------------------------------------------------------- */
/* NULL                                                                       */
/* ------------------------------------------------------------------------- */

static void test_bad_input__null_out_pointers(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_snapshot *cum = (bt_snapshot *)SENTINEL;
  bt_op *op = NULL;
  assert_status(BT_E_NULL, bt_phase_register(NULL, "x_phase", 1));
  assert_status(BT_E_NULL, bt_phase_lookup(NULL, "extract"));
  assert_status(BT_E_NULL, bt_metrics_new(NULL));
  assert_status(BT_E_NULL, bt_op_lookup(NULL, f->m, "present"));
  assert_status(BT_E_NULL, bt_metrics_snapshot(NULL, f->m));
  assert_status(BT_E_NULL, bt_metrics_snapshot(NULL, NULL));
  assert_status(BT_E_NULL, bt_metrics_take(NULL, NULL, f->m));
  assert_status(BT_E_NULL, bt_metrics_take(NULL, &cum, f->m));
  assert_ptr_equal(cum, SENTINEL);
  assert_status(BT_E_NULL, bt_tracer_new(NULL, f->m, "present"));
  assert_status(BT_OK, bt_op_lookup(&op, f->m, "present"));
  assert_status(BT_E_NULL, bt_tracer_new_op(NULL, op));
  assert_int_equal(bt_phase_count(), 4); /* the NULL register added nothing */
  assert_u64_eq(bt_test_count(f->m, "present"), 1);
}

static void test_bad_input__null_names(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_phase_id id = 77;
  bt_op *op = (bt_op *)SENTINEL;
  bt_tracer *t = (bt_tracer *)SENTINEL;
  size_t index = 77;
  bt_timing tm = bt_test_timing(NULL, 10);
  assert_status(BT_E_NULL, bt_phase_register(&id, NULL, 1));
  assert_status(BT_E_NULL, bt_phase_lookup(&id, NULL));
  assert_int_equal(id, 77);
  assert_status(BT_E_NULL, bt_op_lookup(&op, f->m, NULL));
  assert_ptr_equal(op, SENTINEL);
  assert_status(BT_E_NULL, bt_tracer_new(&t, f->m, NULL));
  assert_ptr_equal(t, SENTINEL);
  assert_status(BT_E_NULL, bt_metrics_record(f->m, &tm)); /* op_name NULL */
  assert_status(BT_E_NULL, bt_snapshot_find(&index, f->s, NULL));
  assert_int_equal(index, 77);
}

static void test_bad_input__null_handles(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_tracer *t = (bt_tracer *)SENTINEL;
  bt_timing tm = BT_TIMING_INIT;
  assert_status(BT_E_NULL, bt_tracer_new_op(&t, NULL));
  assert_ptr_equal(t, SENTINEL);
  assert_status(BT_E_NULL, bt_metrics_record(f->m, NULL));
  assert_status(BT_E_NULL, bt_phase_begin(NULL, BT_PHASE_EXTRACT));
  assert_status(BT_E_NULL, bt_phase_end(NULL, BT_PHASE_EXTRACT));
  assert_status(BT_E_NULL, bt_tracer_add_items(NULL, 1));
  assert_status(BT_E_NULL, bt_tracer_add_gil_release(NULL));
  assert_status(BT_E_NULL, bt_tracer_add_gil_wait(NULL, 1));
  assert_status(BT_E_NULL, bt_tracer_set_workers(NULL, 2));
  assert_status(BT_E_NULL, bt_tracer_set_error(NULL));
  assert_status(BT_E_NULL, bt_tracer_finish_timing(&tm, NULL));
  assert_status(BT_E_NULL, bt_tracer_finish(NULL));
  assert_null(tm.op_name);
  /* finish_timing without somewhere to put the timing refuses and records
     nothing: the tracer stays open and finishes normally afterwards. */
  assert_status(BT_OK, bt_tracer_new(&t, f->m, "finish_null_out"));
  assert_status(BT_E_NULL, bt_tracer_finish_timing(NULL, t));
  assert_u64_eq(bt_test_count(f->m, "finish_null_out"), 0);
  assert_status(BT_OK, bt_tracer_finish(t));
  assert_status(BT_E_FINISHED, bt_tracer_finish_timing(&tm, t));
  assert_null(tm.op_name);
  bt_tracer_free(t);
  assert_u64_eq(bt_test_count(f->m, "finish_null_out"), 1);
  assert_null(bt_op_name(NULL));
}

static void test_bad_input__null_snapshot_calls(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  bt_op_stats os = BT_OP_STATS_INIT;
  bt_phase_stats ps = BT_PHASE_STATS_INIT;
  bt_bucket b[2];
  size_t n = 77;
  uint64_t q = 77;
  assert_status(BT_E_NULL, bt_snapshot_get_info(&info, NULL));
  assert_status(BT_E_NULL, bt_snapshot_get_info(NULL, f->s));
  assert_status(BT_E_NULL, bt_snapshot_op_count(&n, NULL));
  assert_status(BT_E_NULL, bt_snapshot_op_count(NULL, f->s));
  assert_status(BT_E_NULL, bt_snapshot_find(&n, NULL, "present"));
  assert_status(BT_E_NULL, bt_snapshot_find(NULL, f->s, "present"));
  assert_status(BT_E_NULL, bt_snapshot_op_stats(&os, NULL, 0));
  assert_status(BT_E_NULL, bt_snapshot_op_stats(NULL, f->s, 0));
  assert_status(BT_E_NULL, bt_snapshot_phase_stats(&ps, NULL, 0, BT_PHASE_TOTAL));
  assert_status(BT_E_NULL, bt_snapshot_phase_stats(NULL, f->s, 0, BT_PHASE_TOTAL));
  assert_status(BT_E_NULL, bt_snapshot_quantile(&q, NULL, 0, BT_PHASE_TOTAL, 0.5));
  assert_status(BT_E_NULL, bt_snapshot_quantile(NULL, f->s, 0, BT_PHASE_TOTAL, 0.5));
  assert_status(BT_E_NULL, bt_snapshot_buckets(b, 2, &n, NULL, 0, BT_PHASE_TOTAL));
  assert_status(BT_E_NULL, bt_snapshot_buckets(b, 2, NULL, f->s, 0, BT_PHASE_TOTAL));
  /* buckets may be NULL only when cap is 0 */
  assert_status(BT_E_NULL, bt_snapshot_buckets(NULL, 2, &n, f->s, 0, BT_PHASE_TOTAL));
  assert_int_equal(n, 77);
  assert_status(BT_OK, bt_snapshot_buckets(NULL, 0, &n, f->s, 0, BT_PHASE_TOTAL));
  assert_int_equal(n, 1);
  assert_u64_eq(q, 77);
  assert_int_equal(info.op_count, 0);
  assert_null(os.name);
  assert_null(ps.name);
}

static void test_bad_input__null_format_args(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_timing tm = bt_test_timing("present", 10);
  char buf[8];
  size_t needed = 77;
  memset(buf, 'Q', sizeof buf);
  assert_status(BT_E_NULL, bt_timing_format(buf, sizeof buf, &needed, NULL));
  assert_status(BT_E_NULL, bt_timing_format(buf, sizeof buf, NULL, &tm));
  assert_status(BT_E_NULL, bt_timing_format(NULL, 8, &needed, &tm));
  assert_status(BT_E_NULL, bt_snapshot_format(buf, sizeof buf, &needed, NULL));
  assert_status(BT_E_NULL, bt_snapshot_format(buf, sizeof buf, NULL, f->s));
  assert_status(BT_E_NULL, bt_snapshot_format(NULL, 8, &needed, f->s));
  assert_int_equal(needed, 77);
  assert_int_equal(buf[0], 'Q');
  assert_status(BT_OK, bt_timing_format(NULL, 0, &needed, &tm));
  assert_true(needed > 0);
  needed = 0;
  assert_status(BT_OK, bt_snapshot_format(NULL, 0, &needed, f->s));
  assert_true(needed > 0);
}

/* bt_*_free(NULL) is fine; the global sink and the NULL sink are never freed. */
static void test_bad_input__free_null_and_global_ignored(void **state) {
  bt_metrics *g = bt_metrics_global();
  bt_timing t = bt_test_timing("bad_input_global", 10);
  (void)state;
  bt_tracer_free(NULL);
  bt_snapshot_free(NULL);
  bt_metrics_free(NULL);
  assert_status(BT_OK, bt_metrics_record(NULL, &t));
  bt_metrics_free(g);
  bt_metrics_free(bt_metrics_global());
  assert_ptr_equal(bt_metrics_global(), g);
  assert_status(BT_OK, bt_metrics_record(g, &t));
  assert_u64_eq(bt_test_count(g, "bad_input_global"), 2);
  assert_status(BT_OK, bt_metrics_reset(NULL)); /* NULL = global */
  assert_u64_eq(bt_test_count(g, "bad_input_global"), 0);
}

/* ------------------------------------------------------------------------- */
/* Unknown phase ids                                                          */
/* ------------------------------------------------------------------------- */

static bt_phase_id g_bad_ids[8];

static size_t bad_ids(int with_total) {
  size_t n = 0;
  g_bad_ids[n++] = -5;
  g_bad_ids[n++] = -3; /* below BT_PHASE_GIL_WAIT */
  g_bad_ids[n++] = 99;
  g_bad_ids[n++] = BT_MAX_PHASES;
  g_bad_ids[n++] = (bt_phase_id)bt_phase_count(); /* the next id, not yet registered */
  g_bad_ids[n++] = INT32_MIN;
  g_bad_ids[n++] = INT32_MAX;
  if (with_total) g_bad_ids[n++] = BT_PHASE_TOTAL; /* a pseudo-phase for queries only */
  return n;
}

static void test_bad_input__unknown_phase_in_tracer(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = NULL;
  size_t n = bad_ids(1), i;
  assert_status(BT_OK, bt_tracer_new(&t, f->m, "unknown_phase"));
  for (i = 0; i < n; i++) {
    assert_status(BT_E_UNKNOWN_PHASE, bt_phase_begin(t, g_bad_ids[i]));
    assert_status(BT_E_UNKNOWN_PHASE, bt_phase_end(t, g_bad_ids[i]));
  }
  /* nothing changed: no phase is open, so a good begin works */
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_CONVERT));
  for (i = 0; i < n; i++) {
    assert_status(BT_E_UNKNOWN_PHASE, bt_phase_end(t, g_bad_ids[i]));
  }
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_CONVERT));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  assert_int_equal(tm.flags, 0);
  assert_int_equal(tm.phase_entries[BT_PHASE_CONVERT], 1);
  assert_int_equal(tm.phase_entries[4], 0);
}

static void test_bad_input__unknown_phase_info(void **state) {
  size_t n = bad_ids(1), i;
  (void)state;
  for (i = 0; i < n; i++) {
    const char *name = (const char *)SENTINEL;
    int gil = 77;
    assert_status(BT_E_UNKNOWN_PHASE, bt_phase_get_info(&name, &gil, g_bad_ids[i]));
    assert_ptr_equal(name, SENTINEL);
    assert_int_equal(gil, 77);
  }
}

static void test_bad_input__unknown_phase_in_snapshot_queries(void **state) {
  struct fixture *f = (struct fixture *)*state;
  size_t n = bad_ids(0), i;
  for (i = 0; i < n; i++) {
    bt_phase_stats ps = BT_PHASE_STATS_INIT;
    uint64_t q = 77;
    size_t count = 77;
    bt_bucket b[2];
    assert_status(BT_E_UNKNOWN_PHASE, bt_snapshot_phase_stats(&ps, f->s, 0, g_bad_ids[i]));
    assert_status(BT_E_UNKNOWN_PHASE, bt_snapshot_quantile(&q, f->s, 0, g_bad_ids[i], 0.5));
    assert_status(BT_E_UNKNOWN_PHASE, bt_snapshot_buckets(b, 2, &count, f->s, 0, g_bad_ids[i]));
    assert_null(ps.name);
    assert_u64_eq(q, 77);
    assert_int_equal(count, 77);
  }
}

/* Time or entries for an unregistered phase: BT_E_UNKNOWN_PHASE, nothing recorded. */
static void test_bad_input__record_unknown_phase(void **state) {
  struct fixture *f = (struct fixture *)*state;
  const bt_phase_id next = (bt_phase_id)bt_phase_count();
  bt_timing t;
  t = bt_test_timing("rec_unknown", 1000);
  t.phase_ns[next] = 1;
  t.phase_entries[next] = 1;
  assert_status(BT_E_UNKNOWN_PHASE, bt_metrics_record(f->m, &t));
  t = bt_test_timing("rec_unknown", 1000);
  t.phase_ns[next] = 5; /* time only */
  assert_status(BT_E_UNKNOWN_PHASE, bt_metrics_record(f->m, &t));
  t = bt_test_timing("rec_unknown", 1000);
  t.phase_entries[BT_MAX_PHASES - 1] = 1; /* entries only */
  assert_status(BT_E_UNKNOWN_PHASE, bt_metrics_record(f->m, &t));
  t = bt_test_timing("rec_unknown", 1000);
  t.phase_count = BT_MAX_PHASES;
  t.phase_ns[BT_PHASE_EXTRACT] = 5;
  t.phase_entries[BT_PHASE_EXTRACT] = 1;
  t.phase_ns[BT_MAX_PHASES - 1] = 5;
  assert_status(BT_E_UNKNOWN_PHASE, bt_metrics_record(f->m, &t));
  assert_u64_eq(bt_test_count(f->m, "rec_unknown"), 0);
}

/* ------------------------------------------------------------------------- */
/* bt_metrics_record: inconsistent timings                                    */
/* ------------------------------------------------------------------------- */

static void test_bad_input__record_phases_above_total_invalid(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_timing t = bt_test_timing("above_total", 100);
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 60, 1);
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 41, 1);
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  t = bt_test_timing("above_total", 100);
  bt_test_set_phase(&t, BT_PHASE_MATERIALIZE, 101, 1);
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  t = bt_test_timing("above_total", 0);
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 1, 1);
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  assert_u64_eq(bt_test_count(f->m, "above_total"), 0);
  /* exactly the total is fine */
  t = bt_test_timing("above_total", 100);
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, 60, 1);
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 40, 1);
  assert_status(BT_OK, bt_metrics_record(f->m, &t));
  assert_u64_eq(bt_test_count(f->m, "above_total"), 1);
}

/* A sum that wraps around 2^64 is still above the total. */
static void test_bad_input__record_phase_sum_overflow_invalid(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_timing t = bt_test_timing("overflow", 10);
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, UINT64_MAX, 1);
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 5, 1); /* wraps to 4 */
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  t = bt_test_timing("overflow", UINT64_MAX);
  bt_test_set_phase(&t, BT_PHASE_EXTRACT, UINT64_MAX, 1);
  bt_test_set_phase(&t, BT_PHASE_CONVERT, UINT64_MAX, 1);
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 2, 1); /* wraps to 0 */
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  assert_u64_eq(bt_test_count(f->m, "overflow"), 0);
}

static void test_bad_input__record_unknown_flags_invalid(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_timing t = bt_test_timing("odd_flags", 100);
  t.flags = 0x4u;
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  t.flags = BT_TIMING_ERROR | 0x80000000u;
  assert_status(BT_E_INVALID, bt_metrics_record(f->m, &t));
  assert_u64_eq(bt_test_count(f->m, "odd_flags"), 0);
}

/* phase_count is an output the library derives; a stale value is ignored. */
static void test_bad_input__record_ignores_phase_count(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_timing t = bt_test_timing("any_phase_count", 100);
  t.phase_count = UINT32_MAX;
  assert_status(BT_OK, bt_metrics_record(f->m, &t));
  assert_u64_eq(bt_test_count(f->m, "any_phase_count"), 1);
}

/* ------------------------------------------------------------------------- */
/* Names                                                                      */
/* ------------------------------------------------------------------------- */

static char g_long_name[BT_NAME_MAX + 8];
static char g_long_utf8[BT_NAME_MAX + 8];

static const char *const k_bad_names[] = {
    "",                       /* empty */
    g_long_name,              /* BT_NAME_MAX + 1 bytes */
    g_long_utf8,              /* BT_NAME_MAX + 3 bytes, valid UTF-8 */
    "\xff",                   /* never valid in UTF-8 */
    "ok\xfe",                 /* likewise, after valid bytes */
    "\x80",                   /* lone continuation byte */
    "\xc0\xaf",               /* overlong '/' */
    "\xe0\x80\xaf",           /* overlong '/', three bytes */
    "\xe2\x82",               /* truncated euro sign */
    "abc\xe2\x82",            /* truncated at the end */
    "\xed\xa0\x80",           /* UTF-16 surrogate */
    "\xf4\x90\x80\x80",       /* above U+10FFFF */
    "\xf8\x88\x80\x80\x80",   /* five-byte form */
    "a\x01z",                 /* control characters */
    "tab\there",
    "new\nline",
    "\x1b[31m",
    "del\x7f",
};
#define N_BAD_NAMES (sizeof k_bad_names / sizeof k_bad_names[0])

static void make_long_names(void) {
  size_t i;
  memset(g_long_name, 'a', BT_NAME_MAX + 1);
  g_long_name[BT_NAME_MAX + 1] = '\0';
  for (i = 0; i < 86; i++) memcpy(g_long_utf8 + 3 * i, "\xe6\x97\xa5", 3); /* 258 bytes */
  g_long_utf8[258] = '\0';
}

static void expect_bad_name(struct fixture *f, const char *name, const char *what) {
  bt_phase_id id = 77;
  bt_op *op = (bt_op *)SENTINEL;
  bt_tracer *t = (bt_tracer *)SENTINEL;
  size_t index = 77;
  bt_timing tm = bt_test_timing(name, 10);
  int st;
  uint32_t phases = bt_phase_count();
  size_t ops_before = 0, ops_after = 0;
  bt_snapshot *s;

  s = bt_test_snapshot(f->m);
  assert_status(BT_OK, bt_snapshot_op_count(&ops_before, s));
  bt_snapshot_free(s);

#define EXPECT_NAME(call)                                                          \
  do {                                                                             \
    st = (call);                                                                   \
    if (st != BT_E_NAME) fail_msg("%s: %s gave %s", what, #call, bt_status_name(st)); \
  } while (0)
  EXPECT_NAME(bt_phase_register(&id, name, 1));
  EXPECT_NAME(bt_phase_register(&id, name, 0));
  EXPECT_NAME(bt_phase_lookup(&id, name));
  EXPECT_NAME(bt_op_lookup(&op, f->m, name));
  EXPECT_NAME(bt_op_lookup(&op, NULL, name));
  EXPECT_NAME(bt_tracer_new(&t, f->m, name));
  EXPECT_NAME(bt_tracer_new(&t, NULL, name));
  EXPECT_NAME(bt_metrics_record(f->m, &tm));
  EXPECT_NAME(bt_snapshot_find(&index, f->s, name));
#undef EXPECT_NAME
  assert_int_equal(id, 77);
  assert_ptr_equal(op, SENTINEL);
  assert_ptr_equal(t, SENTINEL);
  assert_int_equal(index, 77);
  assert_int_equal(bt_phase_count(), phases);
  s = bt_test_snapshot(f->m);
  assert_status(BT_OK, bt_snapshot_op_count(&ops_after, s));
  bt_snapshot_free(s);
  assert_int_equal(ops_after, ops_before);
}

static void test_bad_input__bad_names_rejected(void **state) {
  struct fixture *f = (struct fixture *)*state;
  size_t i;
  make_long_names();
  assert_int_equal(strlen(g_long_name), BT_NAME_MAX + 1);
  for (i = 0; i < N_BAD_NAMES; i++) {
    char what[64];
    snprintf(what, sizeof what, "bad name #%u", (unsigned)i);
    expect_bad_name(f, k_bad_names[i], what);
  }
}

/* C1 controls (U+0080..U+009F, e.g. NEL) are control characters too. */
static void test_bad_input__c1_control_name_rejected(void **state) {
  struct fixture *f = (struct fixture *)*state;
  expect_bad_name(f, "next\xc2\x85line", "U+0085");
  expect_bad_name(f, "\xc2\x9b", "U+009B");
}

static void expect_good_name(struct fixture *f, const char *name) {
  bt_tracer *t = NULL;
  bt_op *op = NULL;
  bt_timing tm = bt_test_timing(name, 10);
  bt_timing out = BT_TIMING_INIT;
  size_t index = 77;
  bt_snapshot *s;
  assert_status(BT_OK, bt_op_lookup(&op, f->m, name));
  assert_string_equal(bt_op_name(op), name);
  assert_status(BT_OK, bt_tracer_new(&t, f->m, name));
  assert_status(BT_OK, bt_tracer_finish_timing(&out, t));
  bt_tracer_free(t);
  assert_string_equal(out.op_name, name);
  assert_status(BT_OK, bt_metrics_record(f->m, &tm));
  s = bt_test_snapshot(f->m);
  assert_status(BT_OK, bt_snapshot_find(&index, s, name));
  assert_u64_eq(bt_test_op_stats(s, name).count, 2);
  bt_snapshot_free(s);
}

/* Exactly BT_NAME_MAX bytes is fine, in ASCII and in multibyte UTF-8. */
static void test_bad_input__name_of_max_length_ok(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char ascii[BT_NAME_MAX + 1], utf8[BT_NAME_MAX + 1];
  bt_phase_id id = -1, found = -1;
  size_t i;
  memset(ascii, 'b', BT_NAME_MAX);
  ascii[BT_NAME_MAX] = '\0';
  for (i = 0; i < BT_NAME_MAX / 3; i++) memcpy(utf8 + 3 * i, "\xe6\x97\xa5", 3); /* 255 bytes */
  utf8[BT_NAME_MAX] = '\0';
  assert_int_equal(strlen(utf8), BT_NAME_MAX);
  expect_good_name(f, ascii);
  expect_good_name(f, utf8);
  assert_status(BT_OK, bt_phase_register(&id, ascii, 0));
  assert_status(BT_OK, bt_phase_lookup(&found, ascii));
  assert_int_equal(found, id);
}

/* Multibyte UTF-8 of every length, spaces and punctuation are fine. */
static void test_bad_input__multibyte_utf8_names_ok(void **state) {
  struct fixture *f = (struct fixture *)*state;
  expect_good_name(f, "donn\xc3\xa9" "es");                 /* 2 bytes */
  expect_good_name(f, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"); /* 3 bytes */
  expect_good_name(f, "emoji \xf0\x9f\x98\x80");             /* 4 bytes */
  expect_good_name(f, "\xf4\x8f\xbf\xbf");                   /* U+10FFFF */
  expect_good_name(f, "collection.find {x: 1}");
  expect_good_name(f, "x");
}

/* ------------------------------------------------------------------------- */
/* struct_size                                                                */
/* ------------------------------------------------------------------------- */

static const size_t k_small_sizes[] = {0, 1, sizeof(size_t), 2 * sizeof(size_t)};

static void test_bad_input__struct_size_too_small(void **state) {
  struct fixture *f = (struct fixture *)*state;
  size_t i, k;
  for (k = 0; k < 5; k++) {
    /* the four fixed small sizes, then sizeof - 1 of each struct */
    int last = k == 4;
    bt_snapshot_info info, info0;
    bt_op_stats os, os0;
    bt_phase_stats ps, ps0;
    bt_timing tm, tm0, in;
    bt_tracer *t = NULL;
    char buf[16];
    size_t needed = 77;

    memset(&info, 0xA5, sizeof info);
    info.struct_size = last ? sizeof info - 1 : k_small_sizes[k];
    info0 = info;
    assert_status(BT_E_STRUCT_SIZE, bt_snapshot_get_info(&info, f->s));
    assert_memory_equal(&info, &info0, sizeof info);

    memset(&os, 0xA5, sizeof os);
    os.struct_size = last ? sizeof os - 1 : k_small_sizes[k];
    os0 = os;
    assert_status(BT_E_STRUCT_SIZE, bt_snapshot_op_stats(&os, f->s, 0));
    assert_memory_equal(&os, &os0, sizeof os);

    memset(&ps, 0xA5, sizeof ps);
    ps.struct_size = last ? sizeof ps - 1 : k_small_sizes[k];
    ps0 = ps;
    assert_status(BT_E_STRUCT_SIZE, bt_snapshot_phase_stats(&ps, f->s, 0, BT_PHASE_TOTAL));
    assert_memory_equal(&ps, &ps0, sizeof ps);

    memset(&tm, 0xA5, sizeof tm);
    tm.struct_size = last ? sizeof tm - 1 : k_small_sizes[k];
    tm0 = tm;
    assert_status(BT_OK, bt_tracer_new(&t, f->m, "small_struct"));
    assert_status(BT_E_STRUCT_SIZE, bt_tracer_finish_timing(&tm, t));
    assert_memory_equal(&tm, &tm0, sizeof tm);
    bt_tracer_free(t);

    in = bt_test_timing("small_struct", 10);
    in.struct_size = last ? sizeof in - 1 : k_small_sizes[k];
    assert_status(BT_E_STRUCT_SIZE, bt_metrics_record(f->m, &in));

    memset(buf, 'Q', sizeof buf);
    assert_status(BT_E_STRUCT_SIZE, bt_timing_format(buf, sizeof buf, &needed, &in));
    assert_int_equal(needed, 77);
    for (i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 'Q');
  }
  assert_u64_eq(bt_test_count(f->m, "small_struct"), 0);
}

/* A caller built against a newer header passes larger structs: they work. */
static void test_bad_input__struct_size_larger_works(void **state) {
  struct fixture *f = (struct fixture *)*state;
  union { bt_snapshot_info v; unsigned char b[sizeof(bt_snapshot_info) + 64]; } info;
  union { bt_op_stats v; unsigned char b[sizeof(bt_op_stats) + 64]; } os;
  union { bt_phase_stats v; unsigned char b[sizeof(bt_phase_stats) + 64]; } ps;
  union { bt_timing v; unsigned char b[sizeof(bt_timing) + 64]; } tm, in;
  bt_tracer *t = NULL;
  size_t needed = 0, needed_plain = 0;

  memset(&info, 0, sizeof info);
  info.v.struct_size = sizeof info;
  assert_status(BT_OK, bt_snapshot_get_info(&info.v, f->s));
  assert_int_equal(info.v.op_count, 1);

  memset(&os, 0, sizeof os);
  os.v.struct_size = sizeof os;
  assert_status(BT_OK, bt_snapshot_op_stats(&os.v, f->s, 0));
  assert_string_equal(os.v.name, "present");
  assert_u64_eq(os.v.count, 1);
  assert_u64_eq(os.v.total_ns, 1000);

  memset(&ps, 0, sizeof ps);
  ps.v.struct_size = sizeof ps;
  assert_status(BT_OK, bt_snapshot_phase_stats(&ps.v, f->s, 0, BT_PHASE_EXTRACT));
  assert_string_equal(ps.v.name, "extract");
  assert_u64_eq(ps.v.sum_ns, 100);

  memset(&tm, 0, sizeof tm);
  tm.v.struct_size = sizeof tm;
  assert_status(BT_OK, bt_tracer_new(&t, f->m, "big_struct"));
  assert_status(BT_OK, bt_tracer_add_items(t, 6));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm.v, t));
  bt_tracer_free(t);
  assert_string_equal(tm.v.op_name, "big_struct");
  assert_u64_eq(tm.v.items, 6);

  memset(&in, 0, sizeof in);
  in.v = bt_test_timing("big_struct", 50);
  in.v.struct_size = sizeof in;
  assert_status(BT_OK, bt_metrics_record(f->m, &in.v));
  assert_u64_eq(bt_test_count(f->m, "big_struct"), 2);

  assert_status(BT_OK, bt_timing_format(NULL, 0, &needed, &in.v));
  in.v.struct_size = sizeof(bt_timing);
  assert_status(BT_OK, bt_timing_format(NULL, 0, &needed_plain, &in.v));
  assert_int_equal(needed, needed_plain);
}

/* ------------------------------------------------------------------------- */
/* Full tables, indexes                                                       */
/* ------------------------------------------------------------------------- */

static void test_bad_input__ops_table_full(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_op *first = NULL, *again = NULL, *op = (bt_op *)SENTINEL;
  bt_tracer *t = (bt_tracer *)SENTINEL;
  bt_timing tm;
  bt_snapshot *s;
  size_t n = 0;
  int i;
  (void)state;
  for (i = 0; i < BT_MAX_OPS; i++) {
    char name[16];
    bt_op *o = NULL;
    snprintf(name, sizeof name, "op%04d", i);
    assert_status(BT_OK, bt_op_lookup(&o, m, name));
    if (i == 0) first = o;
  }
  assert_status(BT_E_FULL, bt_op_lookup(&op, m, "one_more"));
  assert_ptr_equal(op, SENTINEL);
  assert_status(BT_E_FULL, bt_tracer_new(&t, m, "one_more"));
  assert_ptr_equal(t, SENTINEL);
  tm = bt_test_timing("one_more", 10);
  assert_status(BT_E_FULL, bt_metrics_record(m, &tm));

  /* what is there keeps working */
  assert_status(BT_OK, bt_op_lookup(&again, m, "op0000"));
  assert_ptr_equal(again, first);
  tm = bt_test_timing("op1023", 10);
  assert_status(BT_OK, bt_metrics_record(m, &tm));
  t = NULL;
  assert_status(BT_OK, bt_tracer_new(&t, m, "op0512"));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);

  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  assert_int_equal(n, BT_MAX_OPS);
  assert_false(bt_test_find_op(s, "one_more", NULL));
  assert_u64_eq(bt_test_op_stats(s, "op1023").count, 1);
  assert_u64_eq(bt_test_op_stats(s, "op0512").count, 1);
  bt_snapshot_free(s);

  /* a reset keeps the operations, so the table stays full */
  assert_status(BT_OK, bt_metrics_reset(m));
  assert_status(BT_E_FULL, bt_op_lookup(&op, m, "one_more"));
  bt_metrics_free(m);
}

static void test_bad_input__index_out_of_range(void **state) {
  struct fixture *f = (struct fixture *)*state;
  static const size_t bad[] = {1, 2, 1000, (size_t)-1};
  size_t i;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    bt_op_stats os = BT_OP_STATS_INIT;
    bt_phase_stats ps = BT_PHASE_STATS_INIT;
    uint64_t q = 77;
    size_t n = 77;
    bt_bucket b[2];
    assert_status(BT_E_NOT_FOUND, bt_snapshot_op_stats(&os, f->s, bad[i]));
    assert_status(BT_E_NOT_FOUND, bt_snapshot_phase_stats(&ps, f->s, bad[i], BT_PHASE_TOTAL));
    assert_status(BT_E_NOT_FOUND, bt_snapshot_quantile(&q, f->s, bad[i], BT_PHASE_TOTAL, 0.5));
    assert_status(BT_E_NOT_FOUND, bt_snapshot_buckets(b, 2, &n, f->s, bad[i], BT_PHASE_TOTAL));
    assert_null(os.name);
    assert_null(ps.name);
    assert_u64_eq(q, 77);
    assert_int_equal(n, 77);
  }
}

/* ------------------------------------------------------------------------- */
/* Status codes                                                               */
/* ------------------------------------------------------------------------- */

struct status_row {
  int status;
  int value;
  const char *name;
  const char *message;
};

#define STATUS_ROW_(name, value, message) {name, value, #name, message},
static const struct status_row k_statuses[] = {BT_STATUS_MAP(STATUS_ROW_)};
#undef STATUS_ROW_
#define N_STATUSES (sizeof k_statuses / sizeof k_statuses[0])

static void test_bad_input__status_names_and_messages(void **state) {
  size_t i, j;
  (void)state;
  assert_int_equal(N_STATUSES, 15);
  assert_int_equal(BT_OK, 0);
  assert_int_equal(BT_STATUS_LAST_, BT_E_IO);
  for (i = 0; i < N_STATUSES; i++) {
    const char *str = bt_status_str(k_statuses[i].status);
    const char *name = bt_status_name(k_statuses[i].status);
    assert_int_equal(k_statuses[i].status, k_statuses[i].value);
    assert_int_equal(k_statuses[i].value, -(int)i); /* pinned: 0, -1, ... -14 */
    assert_non_null(str);
    assert_non_null(name);
    assert_true(str[0] != '\0');
    assert_string_equal(name, k_statuses[i].name);
    assert_string_equal(str, k_statuses[i].message);
    for (j = 0; j < i; j++) {
      assert_string_not_equal(str, bt_status_str(k_statuses[j].status));
      assert_string_not_equal(name, bt_status_name(k_statuses[j].status));
    }
  }
}

static void test_bad_input__unknown_status_fallback(void **state) {
  static const int unknown[] = {1, 2, 100, -15, -100, INT_MAX, INT_MIN, BT_STATUS_LAST_ - 1};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(bt_status_str(unknown[i]), "unknown status");
    assert_string_equal(bt_status_name(unknown[i]), "BT_E_UNKNOWN_STATUS");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input__null_out_pointers),
      cmocka_unit_test(test_bad_input__null_names),
      cmocka_unit_test(test_bad_input__null_handles),
      cmocka_unit_test(test_bad_input__null_snapshot_calls),
      cmocka_unit_test(test_bad_input__null_format_args),
      cmocka_unit_test(test_bad_input__free_null_and_global_ignored),
      cmocka_unit_test(test_bad_input__unknown_phase_in_tracer),
      cmocka_unit_test(test_bad_input__unknown_phase_info),
      cmocka_unit_test(test_bad_input__unknown_phase_in_snapshot_queries),
      cmocka_unit_test(test_bad_input__record_unknown_phase),
      cmocka_unit_test(test_bad_input__record_phases_above_total_invalid),
      cmocka_unit_test(test_bad_input__record_phase_sum_overflow_invalid),
      cmocka_unit_test(test_bad_input__record_unknown_flags_invalid),
      cmocka_unit_test(test_bad_input__record_ignores_phase_count),
      cmocka_unit_test(test_bad_input__bad_names_rejected),
      cmocka_unit_test(test_bad_input__c1_control_name_rejected),
      cmocka_unit_test(test_bad_input__name_of_max_length_ok),
      cmocka_unit_test(test_bad_input__multibyte_utf8_names_ok),
      cmocka_unit_test(test_bad_input__struct_size_too_small),
      cmocka_unit_test(test_bad_input__struct_size_larger_works),
      cmocka_unit_test(test_bad_input__ops_table_full),
      cmocka_unit_test(test_bad_input__index_out_of_range),
      cmocka_unit_test(test_bad_input__status_names_and_messages),
      cmocka_unit_test(test_bad_input__unknown_status_fallback),
  };
  return cmocka_run_group_tests_name("bad_input", tests, setup, teardown);
}
