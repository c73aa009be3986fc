/*
 * The library clock: monotonic within and across threads, and its source.
 *
 *   test_clock                     source is "tsc" or "monotonic"
 *   test_clock --expect-monotonic  run with BOUNDARYTRACE_CLOCK=os: must be "monotonic"
 */
#include "bt_test.h"

static int g_expect_monotonic;

static void test_clock__source_named(void **state) {
  const char *src = bt_clock_source();
  (void)state;
  assert_non_null(src);
  if (g_expect_monotonic) {
    assert_string_equal(getenv("BOUNDARYTRACE_CLOCK"), "os");
    assert_string_equal(src, "monotonic");
  } else if (strcmp(src, "tsc") != 0 && strcmp(src, "monotonic") != 0) {
    fail_msg("bt_clock_source() == \"%s\"", src);
  }
  assert_string_equal(bt_clock_source(), src); /* fixed for the process */
}

static void test_clock__non_decreasing_in_one_thread(void **state) {
  uint64_t prev = bt_clock_now_ns(), now;
  int i;
  (void)state;
  assert_true(prev > 0);
  for (i = 0; i < 1000000; i++) {
    now = bt_clock_now_ns();
    assert_u64_ge(now, prev);
    prev = now;
  }
}

/* It advances with real time: a 10 ms sleep is at least 10 ms on it. */
static void test_clock__advances_with_sleep(void **state) {
  uint64_t a, b, os_a, os_b;
  (void)state;
  os_a = bt_test_mono_ns();
  a = bt_clock_now_ns();
  bt_test_sleep_ns(10 * BT_TEST_MS);
  b = bt_clock_now_ns();
  os_b = bt_test_mono_ns();
  assert_u64_ge(b - a, BT_TEST_AT_LEAST(10 * BT_TEST_MS));
  /* and it does not run much faster than CLOCK_MONOTONIC around it */
  assert_u64_le(b - a, (os_b - os_a) + (os_b - os_a) / 100);
}

#define CLOCK_THREADS 4
#define CLOCK_ROUNDS 20000

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_last;
static int g_backwards;

/* Readings ordered by a lock: each must be >= the one before, whichever thread. */
static void *clock_reader(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < CLOCK_ROUNDS; i++) {
    uint64_t now;
    pthread_mutex_lock(&g_lock);
    now = bt_clock_now_ns();
    if (now < g_last) g_backwards++;
    g_last = now;
    pthread_mutex_unlock(&g_lock);
  }
  return NULL;
}

static void test_clock__non_decreasing_across_threads(void **state) {
  int dummy[CLOCK_THREADS];
  (void)state;
  g_last = bt_clock_now_ns();
  g_backwards = 0;
  bt_test_run_threads(CLOCK_THREADS, clock_reader, dummy, sizeof dummy[0]);
  assert_int_equal(g_backwards, 0);
  assert_u64_ge(bt_clock_now_ns(), g_last);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clock__source_named),
      cmocka_unit_test(test_clock__non_decreasing_in_one_thread),
      cmocka_unit_test(test_clock__advances_with_sleep),
      cmocka_unit_test(test_clock__non_decreasing_across_threads),
  };
  g_expect_monotonic = argc > 1 && strcmp(argv[1], "--expect-monotonic") == 0;
  return cmocka_run_group_tests_name(g_expect_monotonic ? "clock_os" : "clock", tests, NULL, NULL);
}
