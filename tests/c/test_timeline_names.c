/* Thread names in the timeline's Chrome Trace export. Linked to the test-only
 * library (boundarytrace_allochook), whose bt_testing_timeline_names() tells
 * how many thread names the timeline holds. Its own process: the timeline is
 * process-wide. */
#include "bt_test.h"

/* Test-only (cpp_impl/test_hooks.cpp): thread names the timeline holds. */
size_t bt_testing_timeline_names(void);

/* Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), or -1. */
static long utf8_error_at(const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  while (s[i]) {
    unsigned c = s[i];
    size_t n, k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) n = 3, lo = 0xA0;
    else if (c == 0xED) n = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) n = 4, lo = 0x90;
    else if (c == 0xF4) n = 4, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else return (long)i;
    for (k = 1; k < n; k++) {
      unsigned b = s[i + k];
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return (long)i;
    }
    i += n;
  }
  return -1;
}

struct named {
  const char *name; /* what the thread calls itself: at most 15 bytes */
  bt_metrics *m;
};

static void *trace_named(void *arg) {
  struct named *n = (struct named *)arg;
  bt_tracer *t = NULL;
  assert_int_equal(pthread_setname_np(pthread_self(), n->name), 0);
  assert_status(BT_OK, bt_tracer_new(&t, n->m, "named_op"));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_EXTRACT));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  return NULL;
}

static void run_named(struct named *n) {
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, trace_named, n), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
}

/* Linux keeps 15 bytes of a thread's name, cutting a multi-byte character
 * if it must; a name may hold any bytes. The export is valid UTF-8 anyway:
 * the cut character is dropped, an invalid byte becomes U+FFFD. */
static void test_timeline_names__cut_or_invalid_names_export_valid_utf8(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  /* "abcdefghijklm€" cut at 15 bytes keeps two of the euro sign's three */
  struct named cut = {"abcdefghijklm\xE2\x82", m};
  struct named cut2 = {"abcdefghijklmn\xC3", m}; /* "...né" cut after the é's first byte */
  struct named bad = {"ab\xFF" "cd\xC3(z", m};   /* a stray byte, a lead byte without its tail */
  struct named fine = {"w\xC3\xA9rker \xE2\x82\xAC", m}; /* "wérker €": kept as it is */
  char *j;
  long at;
  (void)state;
  assert_status(BT_OK, bt_timeline_start(16));
  run_named(&cut);
  run_named(&cut2);
  run_named(&bad);
  run_named(&fine);
  j = bt_test_timeline_json();
  at = utf8_error_at(j);
  if (at >= 0) fail_msg("the export is not UTF-8 at byte %ld: ...%.40s", at, j + (at > 20 ? at - 20 : 0));
  assert_non_null(strstr(j, "\"abcdefghijklm ("));  /* the cut character dropped */
  assert_non_null(strstr(j, "\"abcdefghijklmn ("));
  assert_non_null(strstr(j, "\"ab\xEF\xBF\xBD" "cd\xEF\xBF\xBD(z (")); /* U+FFFD each */
  assert_non_null(strstr(j, "\"w\xC3\xA9rker \xE2\x82\xAC ("));
  free(j);
  assert_status(BT_OK, bt_timeline_stop());
  bt_metrics_free(m);
}

static void *trace_once(void *arg) {
  bt_tracer *t = NULL;
  assert_status(BT_OK, bt_tracer_new_op(&t, (bt_op *)arg));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
  return NULL;
}

/* Many short-lived threads, each finishing one operation into a small ring:
 * the timeline holds names for the threads whose operations it keeps, not
 * for every thread it ever saw. */
static void test_timeline_names__names_bounded_by_the_ring(void **state) {
  enum { kBatch = 50, kCapacity = 16 };
  const int threads = 5000 / bt_test_slowdown();
  bt_metrics *m = bt_test_metrics_new();
  bt_op *op = NULL;
  bt_timeline_info info = BT_TIMELINE_INFO_INIT;
  pthread_t th[kBatch];
  char *j;
  int i, k;
  (void)state;
  assert_status(BT_OK, bt_op_lookup(&op, m, "short_lived"));
  assert_status(BT_OK, bt_timeline_start(kCapacity));
  for (i = 0; i < threads; i += kBatch) {
    for (k = 0; k < kBatch; k++) assert_int_equal(pthread_create(&th[k], NULL, trace_once, op), 0);
    for (k = 0; k < kBatch; k++) assert_int_equal(pthread_join(th[k], NULL), 0);
  }
  assert_status(BT_OK, bt_timeline_get_info(&info));
  assert_u64_eq(info.kept, kCapacity);
  assert_u64_eq(info.kept + info.dropped, threads);
  assert_u64_eq(bt_test_count(m, "short_lived"), threads);
  if (bt_testing_timeline_names() > kCapacity)
    fail_msg("the timeline holds %zu thread names for %d kept operations", bt_testing_timeline_names(),
             kCapacity);
  j = bt_test_timeline_json();
  assert_true(bt_test_count_of(j, "\"name\":\"thread_name\"") >= 1);
  assert_true(bt_test_count_of(j, "\"name\":\"thread_name\"") <= kCapacity);
  free(j);
  assert_status(BT_OK, bt_timeline_stop());
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timeline_names__cut_or_invalid_names_export_valid_utf8),
      cmocka_unit_test(test_timeline_names__names_bounded_by_the_ring),
  };
  return cmocka_run_group_tests_name("timeline_names", tests, NULL, NULL);
}
