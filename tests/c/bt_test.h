/*
 * Shared helpers of the cmocka suite over the C API. Include it first in every
 * test file: it sets the feature macros before any system header.
 *
 * Everything here is `static inline` so that a test file using only part of it
 * compiles without unused-function warnings.
 */
#ifndef BT_TEST_H
#define BT_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <boundarytrace/bt.h>

/* A status check whose failure message names both statuses. */
#define assert_status(expected, expr)                                              \
  do {                                                                             \
    int bt_got_ = (int)(expr);                                                     \
    int bt_want_ = (int)(expected);                                                \
    if (bt_got_ != bt_want_) {                                                     \
      fail_msg("%s: expected %s (%d), got %s (%d)", #expr, bt_status_name(bt_want_), \
               bt_want_, bt_status_name(bt_got_), bt_got_);                        \
    }                                                                              \
  } while (0)

/* uint64_t equality printed in decimal. */
#define assert_u64_eq(actual, expected)                                            \
  do {                                                                             \
    uint64_t bt_a_ = (uint64_t)(actual);                                           \
    uint64_t bt_e_ = (uint64_t)(expected);                                         \
    if (bt_a_ != bt_e_) {                                                          \
      fail_msg("%s == %" PRIu64 ", expected %s == %" PRIu64, #actual, bt_a_,       \
               #expected, bt_e_);                                                  \
    }                                                                              \
  } while (0)

/* actual >= bound, printed in decimal. */
#define assert_u64_ge(actual, bound)                                               \
  do {                                                                             \
    uint64_t bt_a_ = (uint64_t)(actual);                                           \
    uint64_t bt_b_ = (uint64_t)(bound);                                            \
    if (bt_a_ < bt_b_) {                                                           \
      fail_msg("%s == %" PRIu64 " < %s == %" PRIu64, #actual, bt_a_, #bound, bt_b_); \
    }                                                                              \
  } while (0)

/* actual <= bound, printed in decimal. */
#define assert_u64_le(actual, bound)                                               \
  do {                                                                             \
    uint64_t bt_a_ = (uint64_t)(actual);                                           \
    uint64_t bt_b_ = (uint64_t)(bound);                                            \
    if (bt_a_ > bt_b_) {                                                           \
      fail_msg("%s == %" PRIu64 " > %s == %" PRIu64, #actual, bt_a_, #bound, bt_b_); \
    }                                                                              \
  } while (0)

/*
 * Lower bound for a duration the library measured around a sleep of `ns`
 * (CLOCK_MONOTONIC guarantees at least `ns`). The library may read the TSC
 * calibrated against CLOCK_MONOTONIC, so allow 1% calibration error; the sleep
 * itself is never shorter than asked.
 */
#define BT_TEST_AT_LEAST(ns) ((uint64_t)(ns) - (uint64_t)(ns) / 100u)

#define BT_TEST_MS UINT64_C(1000000)

static inline uint64_t bt_test_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static inline void bt_test_sleep_ns(uint64_t ns) {
  struct timespec req, rem;
  req.tv_sec = (time_t)(ns / UINT64_C(1000000000));
  req.tv_nsec = (long)(ns % UINT64_C(1000000000));
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
}

static inline bt_metrics *bt_test_metrics_new(void) {
  bt_metrics *m = NULL;
  assert_status(BT_OK, bt_metrics_new(&m));
  assert_non_null(m);
  assert_true(m != bt_metrics_global());
  return m;
}

static inline bt_snapshot *bt_test_snapshot(bt_metrics *m) {
  bt_snapshot *s = NULL;
  assert_status(BT_OK, bt_metrics_snapshot(&s, m));
  assert_non_null(s);
  return s;
}

/* 1 and *out filled when `name` is in the snapshot, else 0 (*out untouched). */
static inline int bt_test_find_op(const bt_snapshot *s, const char *name, bt_op_stats *out) {
  size_t index = (size_t)-1;
  bt_status st = bt_snapshot_find(&index, s, name);
  if (st == BT_E_NOT_FOUND) return 0;
  assert_status(BT_OK, st);
  if (out != NULL) {
    bt_op_stats stats = BT_OP_STATS_INIT;
    assert_status(BT_OK, bt_snapshot_op_stats(&stats, s, index));
    assert_non_null(stats.name);
    assert_string_equal(stats.name, name);
    *out = stats;
  }
  return 1;
}

/* The stats of `name`, which must be in the snapshot. */
static inline bt_op_stats bt_test_op_stats(const bt_snapshot *s, const char *name) {
  bt_op_stats stats = BT_OP_STATS_INIT;
  if (!bt_test_find_op(s, name, &stats)) fail_msg("operation \"%s\" not in the snapshot", name);
  return stats;
}

static inline size_t bt_test_index(const bt_snapshot *s, const char *name) {
  size_t index = (size_t)-1;
  assert_status(BT_OK, bt_snapshot_find(&index, s, name));
  return index;
}

/* The distribution of one phase (or BT_PHASE_TOTAL) of `name`. */
static inline bt_phase_stats bt_test_phase_stats(const bt_snapshot *s, const char *name,
                                                 bt_phase_id phase) {
  bt_phase_stats ps = BT_PHASE_STATS_INIT;
  assert_status(BT_OK, bt_snapshot_phase_stats(&ps, s, bt_test_index(s, name), phase));
  assert_int_equal(ps.phase, phase);
  return ps;
}

/* Sum of the non-empty histogram buckets of one phase. */
static inline uint64_t bt_test_bucket_sum(const bt_snapshot *s, size_t index, bt_phase_id phase) {
  bt_bucket buckets[4096];
  size_t n = 0;
  uint64_t sum = 0;
  size_t i;
  assert_status(BT_OK, bt_snapshot_buckets(buckets, 4096, &n, s, index, phase));
  assert_true(n <= 4096);
  for (i = 0; i < n; i++) sum += buckets[i].count;
  return sum;
}

/* Operations recorded under `name` in `m`: 0 when not listed. */
static inline uint64_t bt_test_count(bt_metrics *m, const char *name) {
  bt_snapshot *s = bt_test_snapshot(m);
  bt_op_stats stats = BT_OP_STATS_INIT;
  uint64_t count = 0;
  if (bt_test_find_op(s, name, &stats)) count = stats.count;
  bt_snapshot_free(s);
  return count;
}

/* How many times fewer iterations a long test makes: BT_TEST_SLOWDOWN, set by
 * tests/c/CMakeLists.txt when the tests run under an emulator (valgrind). */
static inline int bt_test_slowdown(void) {
  const char *env = getenv("BT_TEST_SLOWDOWN");
  int n = env ? atoi(env) : 1;
  return n > 0 ? n : 1;
}

/* A timing for bt_metrics_record: op name and total, nothing else. */
/* The timeline's Chrome Trace JSON, malloc'ed (free it); asserts the second
   call needs exactly what the first said. */
static inline char *bt_test_timeline_json(void) {
  size_t needed = 0, again = 0;
  char *buf;
  assert_status(BT_OK, bt_timeline_export(NULL, 0, &needed));
  buf = (char *)malloc(needed + 1);
  assert_non_null(buf);
  assert_status(BT_OK, bt_timeline_export(buf, needed + 1, &again));
  assert_u64_eq(again, needed);
  return buf;
}

/* How often `needle` occurs in `hay` (non-overlapping). */
static inline size_t bt_test_count_of(const char *hay, const char *needle) {
  size_t n = 0;
  const char *p = hay;
  while ((p = strstr(p, needle)) != NULL) {
    n++;
    p += strlen(needle);
  }
  return n;
}

static inline bt_timing bt_test_timing(const char *op, uint64_t total_ns) {
  bt_timing t = BT_TIMING_INIT;
  t.op_name = op;
  t.total_ns = total_ns;
  t.phase_count = bt_phase_count();
  return t;
}

static inline void bt_test_set_phase(bt_timing *t, bt_phase_id phase, uint64_t ns,
                                     uint32_t entries) {
  t->phase_ns[phase] = ns;
  t->phase_entries[phase] = entries;
}

/* Runs `fn(arg_i)` on `n` threads, released together by a barrier, and joins them all. */
struct bt_test_start {
  void *(*fn)(void *);
  void *arg;
  pthread_barrier_t *barrier;
};

static inline void *bt_test_start_thread(void *p) {
  struct bt_test_start *s = (struct bt_test_start *)p;
  pthread_barrier_wait(s->barrier);
  return s->fn(s->arg);
}

static inline void bt_test_run_threads(int n, void *(*fn)(void *), void *args, size_t arg_size) {
  pthread_t threads[256];
  struct bt_test_start starts[256];
  pthread_barrier_t barrier;
  int i;
  assert_true(n > 0 && n <= 256);
  assert_int_equal(0, pthread_barrier_init(&barrier, NULL, (unsigned)n));
  for (i = 0; i < n; i++) {
    starts[i].fn = fn;
    starts[i].arg = (char *)args + (size_t)i * arg_size;
    starts[i].barrier = &barrier;
    assert_int_equal(0, pthread_create(&threads[i], NULL, bt_test_start_thread, &starts[i]));
  }
  for (i = 0; i < n; i++) assert_int_equal(0, pthread_join(threads[i], NULL));
  pthread_barrier_destroy(&barrier);
}

#endif /* BT_TEST_H */
