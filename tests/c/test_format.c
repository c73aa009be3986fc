/* Human text reports: snprintf semantics and the stable facts in the text. */
#include "bt_test.h"

#define GUARD 0x5C

/* A timing with known figures, as a tracer would finish it. */
static bt_timing sample_timing(void) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing tm = BT_TIMING_INIT;
  bt_tracer *t = NULL;
  assert_status(BT_OK, bt_tracer_new(&t, m, "insert_many"));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  bt_test_sleep_ns(100000);
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_NETWORK));
  bt_test_sleep_ns(200000);
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_NETWORK));
  assert_status(BT_OK, bt_tracer_add_items(t, 12345));
  assert_status(BT_OK, bt_tracer_add_gil_release(t));
  assert_status(BT_OK, bt_tracer_finish_timing(&tm, t));
  bt_tracer_free(t);
  bt_metrics_free(m); /* the op name is interned: tm stays valid */
  return tm;
}

/* A snapshot of two operations with known counts. */
static bt_snapshot *sample_snapshot(bt_metrics **m_out) {
  bt_metrics *m = bt_test_metrics_new();
  int i;
  for (i = 0; i < 4242; i++) {
    bt_timing t = bt_test_timing("find_many", 10000 + (uint64_t)i * 10);
    bt_test_set_phase(&t, BT_PHASE_CONVERT, 1000, 1);
    bt_test_set_phase(&t, BT_PHASE_MATERIALIZE, 2000, 1);
    t.items = 3;
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  for (i = 0; i < 17; i++) {
    bt_timing t = bt_test_timing("aggregate", 50000);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, 7000, 1);
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  *m_out = m;
  return bt_test_snapshot(m);
}

typedef bt_status (*format_fn)(const void *obj, char *buf, size_t cap, size_t *needed);

static bt_status fmt_timing(const void *obj, char *buf, size_t cap, size_t *needed) {
  return bt_timing_format(buf, cap, needed, (const bt_timing *)obj);
}

static bt_status fmt_snapshot(const void *obj, char *buf, size_t cap, size_t *needed) {
  return bt_snapshot_format(buf, cap, needed, (const bt_snapshot *)obj);
}

/*
 * snprintf semantics for one formatter: cap 0 (NULL buffer) gives the length;
 * needed+1 fits exactly; needed truncates by one; cap 1 gives ""; nothing is
 * ever written past cap (a guard byte follows the buffer). Returns the full text.
 */
static char *check_snprintf(format_fn fn, const void *obj) {
  size_t needed = 0, again = 0, n, cap;
  char *full, *buf;
  size_t i;

  assert_status(BT_OK, fn(obj, NULL, 0, &needed));
  assert_true(needed > 0);

  /* exact fit */
  full = (char *)malloc(needed + 2);
  assert_non_null(full);
  memset(full, GUARD, needed + 2);
  assert_status(BT_OK, fn(obj, full, needed + 1, &again));
  assert_int_equal(again, needed);
  assert_int_equal(full[needed], '\0');
  assert_int_equal((unsigned char)full[needed + 1], GUARD);
  assert_int_equal(strlen(full), needed);

  /* the same text every time, whatever the cap */
  buf = (char *)malloc(needed + 2);
  assert_non_null(buf);
  for (i = 0; i < 4; i++) {
    static const size_t caps_from_end[4] = {0, 1, 2, 17}; /* cap = needed - k */
    size_t k = caps_from_end[i];
    if (k >= needed) continue;
    cap = needed - k;
    memset(buf, GUARD, needed + 2);
    n = 0;
    assert_status(BT_OK, fn(obj, buf, cap, &n));
    assert_int_equal(n, needed); /* the full length, not what fit */
    assert_int_equal(buf[cap - 1], '\0');
    assert_int_equal(strlen(buf), cap - 1);
    assert_memory_equal(buf, full, cap - 1);
    assert_int_equal((unsigned char)buf[cap], GUARD);
  }

  /* cap 1: just the terminator */
  memset(buf, GUARD, 2);
  assert_status(BT_OK, fn(obj, buf, 1, &n));
  assert_int_equal(n, needed);
  assert_int_equal(buf[0], '\0');
  assert_int_equal((unsigned char)buf[1], GUARD);

  /* cap 0 with a real buffer: nothing written */
  memset(buf, GUARD, 2);
  assert_status(BT_OK, fn(obj, buf, 0, &n));
  assert_int_equal(n, needed);
  assert_int_equal((unsigned char)buf[0], GUARD);

  /* a roomy buffer gives the same text */
  free(buf);
  buf = (char *)malloc(needed + 1000);
  assert_non_null(buf);
  assert_status(BT_OK, fn(obj, buf, needed + 1000, &n));
  assert_int_equal(n, needed);
  assert_string_equal(buf, full);
  free(buf);
  return full;
}

static void assert_contains(const char *text, const char *what) {
  if (strstr(text, what) == NULL) fail_msg("\"%s\" not in the text:\n%s", what, text);
}

static void test_format__timing_snprintf_semantics(void **state) {
  bt_timing tm = sample_timing();
  char *text;
  (void)state;
  text = check_snprintf(fmt_timing, &tm);
  free(text);
}

static void test_format__timing_text_names_op_and_phases(void **state) {
  bt_timing tm = sample_timing();
  char *text;
  (void)state;
  text = check_snprintf(fmt_timing, &tm);
  assert_contains(text, "insert_many");
  assert_contains(text, "extract");
  assert_contains(text, "network");
  assert_contains(text, "12345"); /* items */
  free(text);
}

/* Error and left-open flags show in the text. */
static void test_format__timing_flags_change_text(void **state) {
  bt_timing tm = sample_timing();
  char *plain, *flagged;
  (void)state;
  plain = check_snprintf(fmt_timing, &tm);
  tm.flags = BT_TIMING_ERROR;
  flagged = check_snprintf(fmt_timing, &tm);
  assert_string_not_equal(plain, flagged);
  free(flagged);
  tm.flags = BT_TIMING_PHASE_LEFT_OPEN;
  flagged = check_snprintf(fmt_timing, &tm);
  assert_string_not_equal(plain, flagged);
  free(flagged);
  free(plain);
}

/* A hand-built timing formats too (the caller fills what bt_metrics_record reads). */
static void test_format__hand_built_timing(void **state) {
  bt_timing t = bt_test_timing("hand_built", 5000);
  char *text;
  (void)state;
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 3000, 2);
  text = check_snprintf(fmt_timing, &t);
  assert_contains(text, "hand_built");
  assert_contains(text, "convert");
  free(text);
}

static void test_format__snapshot_snprintf_semantics(void **state) {
  bt_metrics *m = NULL;
  bt_snapshot *s = sample_snapshot(&m);
  char *text;
  (void)state;
  text = check_snprintf(fmt_snapshot, s);
  free(text);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void test_format__snapshot_text_names_ops_phases_percentiles(void **state) {
  bt_metrics *m = NULL;
  bt_snapshot *s = sample_snapshot(&m);
  char *text;
  (void)state;
  text = check_snprintf(fmt_snapshot, s);
  assert_contains(text, "find_many");
  assert_contains(text, "aggregate");
  assert_contains(text, "4242"); /* count of find_many */
  assert_contains(text, "12726"); /* its items */
  assert_contains(text, "17");    /* count of aggregate */
  assert_contains(text, "convert");
  assert_contains(text, "materialize");
  assert_contains(text, "extract");
  assert_contains(text, "p50");
  assert_contains(text, "p90");
  assert_contains(text, "p99");
  assert_contains(text, "p99.9");
  /* operations in name order, as in the snapshot */
  assert_true(strstr(text, "aggregate") < strstr(text, "find_many"));
  free(text);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* An empty snapshot formats (to whatever it says) without error. */
static void test_format__empty_snapshot(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s = bt_test_snapshot(m);
  char buf[4096];
  size_t needed = 0;
  (void)state;
  memset(buf, GUARD, sizeof buf);
  assert_status(BT_OK, bt_snapshot_format(buf, sizeof buf, &needed, s));
  assert_true(needed < sizeof buf);
  assert_int_equal(strlen(buf), needed);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Whitespace-separated words of one line (at most 64 counted). */
static int words_in(const char *line, size_t len) {
  int n = 0;
  size_t i = 0;
  while (i < len) {
    while (i < len && line[i] == ' ') i++;
    if (i == len) break;
    n++;
    while (i < len && line[i] != ' ') i++;
  }
  return n;
}

/* Checks each line of `text` that starts with `label` (after the indent)
 * has `words` whitespace-separated words: a column that ran into its
 * neighbour makes one word of two. Returns how many lines were checked. */
static int check_row_words(const char *text, const char *label, int words) {
  const char *line = text;
  int checked = 0;
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    const char *p = line;
    while (p < line + len && *p == ' ') p++;
    if ((size_t)(line + len - p) > strlen(label) && strncmp(p, label, strlen(label)) == 0 &&
        p[strlen(label)] == ' ') {
      int got = words_in(line, len);
      if (got != words) fail_msg("%d words, want %d, in the line \"%.*s\" of:\n%s", got, words, (int)len, line, text);
      checked++;
    }
    line += len + (end != NULL);
  }
  return checked;
}

/* Sums near UINT64_MAX nanoseconds: every column of the table stays apart
 * (at least one space), the phase columns, entries and mean included. */
static void test_format__columns_stay_apart_for_huge_values(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  char *text;
  int i;
  (void)state;
  for (i = 0; i < 2; i++) { /* sums: twice each value, still below 2^64 */
    bt_timing t = bt_test_timing("huge", UINT64_MAX / 2);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, UINT64_MAX / 8, UINT32_MAX);
    bt_test_set_phase(&t, BT_PHASE_CONVERT, UINT64_MAX / 8, UINT32_MAX);
    bt_test_set_phase(&t, BT_PHASE_NETWORK, UINT64_MAX / 8, UINT32_MAX);
    bt_test_set_phase(&t, BT_PHASE_MATERIALIZE, UINT64_MAX / 16, UINT32_MAX);
    t.items = UINT64_MAX / 4;
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  s = bt_test_snapshot(m);
  text = check_snprintf(fmt_snapshot, s);
  /* header: phase GIL time share entries mean p50 p90 p99 p99.9 max */
  assert_int_equal(check_row_words(text, "phase", 11), 1);
  /* a phase: name, GIL, time (2), share, entries, mean..max (2 each) */
  assert_int_equal(check_row_words(text, "extract", 18), 1);
  assert_int_equal(check_row_words(text, "convert", 18), 1);
  assert_int_equal(check_row_words(text, "network", 18), 1);
  assert_int_equal(check_row_words(text, "materialize", 18), 1);
  /* unattributed: time (2), share; the total: as a phase without GIL */
  assert_int_equal(check_row_words(text, "unattributed", 4), 1);
  assert_int_equal(check_row_words(text, "total", 17), 1);
  free(text);
  bt_snapshot_free(s);

  { /* one operation's report, with the largest figures a timing can hold */
    bt_timing t = bt_test_timing("huge_timing", UINT64_MAX);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, UINT64_MAX / 2, UINT32_MAX);
    bt_test_set_phase(&t, BT_PHASE_NETWORK, UINT64_MAX / 2, UINT32_MAX);
    t.gil_held_ns = t.gil_released_ns = UINT64_MAX / 2;
    t.unattributed_ns = 1;
    text = check_snprintf(fmt_timing, &t);
    /* name, GIL, held/released, time (2), share, entries, "entries" */
    assert_int_equal(check_row_words(text, "extract", 8), 1);
    assert_int_equal(check_row_words(text, "network", 8), 1);
    assert_int_equal(check_row_words(text, "unattributed", 4), 1);
    assert_int_equal(check_row_words(text, "total", 3), 1);
    free(text);
  }
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format__timing_snprintf_semantics),
      cmocka_unit_test(test_format__timing_text_names_op_and_phases),
      cmocka_unit_test(test_format__timing_flags_change_text),
      cmocka_unit_test(test_format__hand_built_timing),
      cmocka_unit_test(test_format__snapshot_snprintf_semantics),
      cmocka_unit_test(test_format__snapshot_text_names_ops_phases_percentiles),
      cmocka_unit_test(test_format__empty_snapshot),
      cmocka_unit_test(test_format__columns_stay_apart_for_huge_values),
  };
  return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
