/* Percentiles from the histograms against known inputs. */
#include "bt_test.h"

#include <math.h>

/* Exact nearest-rank quantile of sorted values: the ceil(q*n)-th smallest. */
static uint64_t nearest_rank(const uint64_t *sorted, size_t n, double q) {
  size_t rank = (size_t)ceil(q * (double)n);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

/* |got - want| <= want / 32: the header's relative error bound. */
#define assert_within_1_32(got, want, what)                                          \
  do {                                                                               \
    uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                            \
    uint64_t d_ = g_ > w_ ? g_ - w_ : w_ - g_;                                       \
    if (d_ * 32u > w_) {                                                             \
      fail_msg("%s: %" PRIu64 " is not within 1/32 of %" PRIu64, what, g_, w_);     \
    }                                                                                \
  } while (0)

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Deterministic shuffle so that recording order is not sorted. */
static void shuffle(uint64_t *v, size_t n) {
  uint64_t x = 88172645463325252ull;
  size_t i;
  for (i = n - 1; i > 0; i--) {
    size_t j;
    uint64_t tmp;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    j = (size_t)(x % (i + 1));
    tmp = v[i];
    v[i] = v[j];
    v[j] = tmp;
  }
}

/* Records `values` as totals of `op`, with extract = total / 10. */
static void record_all(bt_metrics *m, const char *op, const uint64_t *values, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    bt_timing t = bt_test_timing(op, values[i]);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, values[i] / 10, 1);
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
}

static void check_distribution(const bt_snapshot *s, const char *op, bt_phase_id phase,
                               const uint64_t *sorted, size_t n) {
  static const double qs[] = {0.001, 0.01, 0.1, 0.25, 0.333, 0.5, 0.666, 0.75,
                              0.9,   0.95, 0.99, 0.995, 0.999};
  bt_phase_stats ps = bt_test_phase_stats(s, op, phase);
  size_t index = bt_test_index(s, op);
  uint64_t got = 1;
  size_t i;
  assert_u64_eq(ps.count, n);
  assert_u64_eq(ps.min_ns, sorted[0]);
  assert_u64_eq(ps.max_ns, sorted[n - 1]);
  assert_within_1_32(ps.p50_ns, nearest_rank(sorted, n, 0.50), "p50");
  assert_within_1_32(ps.p90_ns, nearest_rank(sorted, n, 0.90), "p90");
  assert_within_1_32(ps.p99_ns, nearest_rank(sorted, n, 0.99), "p99");
  assert_within_1_32(ps.p999_ns, nearest_rank(sorted, n, 0.999), "p99.9");
  /* clamped to [min, max], and ordered */
  assert_u64_ge(ps.p50_ns, ps.min_ns);
  assert_u64_le(ps.p999_ns, ps.max_ns);
  assert_u64_le(ps.p50_ns, ps.p90_ns);
  assert_u64_le(ps.p90_ns, ps.p99_ns);
  assert_u64_le(ps.p99_ns, ps.p999_ns);

  assert_status(BT_OK, bt_snapshot_quantile(&got, s, index, phase, 0.0));
  assert_u64_eq(got, sorted[0]);
  assert_status(BT_OK, bt_snapshot_quantile(&got, s, index, phase, 1.0));
  assert_u64_eq(got, sorted[n - 1]);
  for (i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    char what[32];
    snprintf(what, sizeof what, "q=%g", qs[i]);
    assert_status(BT_OK, bt_snapshot_quantile(&got, s, index, phase, qs[i]));
    assert_within_1_32(got, nearest_rank(sorted, n, qs[i]), what);
    assert_u64_ge(got, sorted[0]);
    assert_u64_le(got, sorted[n - 1]);
  }
}

/* Totals of 1..1000 microseconds, recorded in shuffled order. */
static void test_percentiles__uniform_1_to_1000_us(void **state) {
  uint64_t values[1000], sorted[1000], extract[1000];
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t i;
  bt_phase_stats ps;
  (void)state;
  for (i = 0; i < 1000; i++) values[i] = (uint64_t)(i + 1) * 1000u;
  memcpy(sorted, values, sizeof values);
  shuffle(values, 1000);
  record_all(m, "uniform", values, 1000);
  for (i = 0; i < 1000; i++) extract[i] = sorted[i] / 10;

  s = bt_test_snapshot(m);
  ps = bt_test_phase_stats(s, "uniform", BT_PHASE_TOTAL);
  /* the exact nearest-rank values, spelled out */
  assert_within_1_32(ps.p50_ns, 500000, "p50");
  assert_within_1_32(ps.p90_ns, 900000, "p90");
  assert_within_1_32(ps.p99_ns, 990000, "p99");
  assert_within_1_32(ps.p999_ns, 999000, "p99.9");
  assert_u64_eq(ps.sum_ns, 500500000u);
  check_distribution(s, "uniform", BT_PHASE_TOTAL, sorted, 1000);
  check_distribution(s, "uniform", BT_PHASE_EXTRACT, extract, 1000);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* 1000 values spread geometrically over seven decades (1 us .. 10 s). */
static void test_percentiles__geometric_wide_range(void **state) {
  uint64_t values[1000], sorted[1000], extract[1000];
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t i;
  (void)state;
  for (i = 0; i < 1000; i++) values[i] = (uint64_t)llround(1000.0 * pow(1e7, (double)i / 999.0));
  memcpy(sorted, values, sizeof values);
  qsort(sorted, 1000, sizeof sorted[0], cmp_u64);
  shuffle(values, 1000);
  record_all(m, "geometric", values, 1000);
  for (i = 0; i < 1000; i++) extract[i] = sorted[i] / 10;
  s = bt_test_snapshot(m);
  check_distribution(s, "geometric", BT_PHASE_TOTAL, sorted, 1000);
  check_distribution(s, "geometric", BT_PHASE_EXTRACT, extract, 1000);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/*
 * Values below 16 ns are exact. Each of 1..15 is recorded 100 times, and q is
 * asked in the middle of each value's block of ranks, so every definition of
 * "the q-quantile" agrees on the answer.
 */
static void test_percentiles__small_values_exact(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_phase_stats ps;
  size_t index;
  uint64_t v;
  int rep;
  (void)state;
  for (rep = 0; rep < 100; rep++) {
    for (v = 1; v <= 15; v++) {
      bt_timing t = bt_test_timing("small", v);
      assert_status(BT_OK, bt_metrics_record(m, &t));
    }
  }
  s = bt_test_snapshot(m);
  index = bt_test_index(s, "small");
  ps = bt_test_phase_stats(s, "small", BT_PHASE_TOTAL);
  assert_u64_eq(ps.count, 1500);
  assert_u64_eq(ps.min_ns, 1);
  assert_u64_eq(ps.max_ns, 15);
  assert_u64_eq(ps.p50_ns, 8);   /* rank 750 */
  assert_u64_eq(ps.p90_ns, 14);  /* rank 1350 */
  assert_u64_eq(ps.p99_ns, 15);  /* rank 1485 */
  assert_u64_eq(ps.p999_ns, 15); /* rank 1499 */
  for (v = 1; v <= 15; v++) {
    uint64_t got = 0;
    double q = ((double)v - 0.5) / 15.0;
    assert_status(BT_OK, bt_snapshot_quantile(&got, s, index, BT_PHASE_TOTAL, q));
    assert_u64_eq(got, v);
  }
  /* and each small value has a bucket of its own */
  {
    bt_bucket b[32];
    size_t n = 0, i;
    assert_status(BT_OK, bt_snapshot_buckets(b, 32, &n, s, index, BT_PHASE_TOTAL));
    assert_int_equal(n, 15);
    for (i = 0; i < n; i++) {
      assert_u64_le(b[i].lower_ns, i + 1);
      assert_u64_ge(b[i].upper_ns, i + 2);
      assert_u64_eq(b[i].count, 100);
    }
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/*
 * The ends of the range: 0 in a bucket of its own; 15 and 16 apart (16 closes
 * its bucket: upper bounds are inclusive); 2^43 - 1 and 2^43 together in the
 * bucket (2^(687/16), 2^43]; UINT64_MAX in the last bucket, which ends at
 * 2^64. Counted, with exact min and max. Recorded in both orders, since
 * storage grows toward the values a histogram has not seen and each order
 * grows it the other way.
 */
static void test_percentiles__range_ends_counted(void **state) {
  static const uint64_t values[] = {0, 15, 16, (1ull << 43) - 1, 1ull << 43, UINT64_MAX};
  const size_t nv = sizeof values / sizeof values[0];
  const char *names[2] = {"ends_up", "ends_down"};
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t i, k;
  (void)state;
  for (i = 0; i < nv; i++) {
    bt_timing up = bt_test_timing(names[0], values[i]);
    bt_timing down = bt_test_timing(names[1], values[nv - 1 - i]);
    bt_test_set_phase(&up, BT_PHASE_NETWORK, values[i], 1);
    bt_test_set_phase(&down, BT_PHASE_NETWORK, values[nv - 1 - i], 1);
    assert_status(BT_OK, bt_metrics_record(m, &up));
    assert_status(BT_OK, bt_metrics_record(m, &down));
  }
  s = bt_test_snapshot(m);
  for (k = 0; k < 2; k++) {
    size_t index = bt_test_index(s, names[k]);
    bt_phase_id phases[2] = {BT_PHASE_TOTAL, BT_PHASE_NETWORK};
    int j;
    for (j = 0; j < 2; j++) {
      bt_phase_stats ps = bt_test_phase_stats(s, names[k], phases[j]);
      bt_bucket b[16];
      size_t n = 0;
      assert_u64_eq(ps.count, nv);
      assert_u64_eq(ps.min_ns, 0);
      assert_u64_eq(ps.max_ns, UINT64_MAX);
      assert_status(BT_OK, bt_snapshot_buckets(b, 16, &n, s, index, phases[j]));
      assert_int_equal(n, 5); /* 0, 15, 16, 2^43 - 1 with 2^43, UINT64_MAX */
      assert_u64_eq(b[0].lower_ns, 0);
      assert_u64_eq(b[0].upper_ns, 1);
      assert_u64_eq(b[0].count, 1);
      assert_u64_eq(b[1].lower_ns, 15);
      assert_u64_eq(b[1].upper_ns, 16);
      assert_u64_eq(b[2].lower_ns, 16);
      assert_u64_eq(b[2].upper_ns, 17);
      assert_u64_eq(b[3].count, 2);
      assert_u64_le(b[3].lower_ns, (1ull << 43) - 1);
      assert_u64_eq(b[3].upper_ns, (1ull << 43) + 1);
      assert_u64_eq(b[4].count, 1);
      assert_u64_eq(b[4].upper_ns, UINT64_MAX); /* the last bucket includes it */
      assert_u64_le(b[4].lower_ns, UINT64_MAX);
      assert_u64_eq(bt_test_bucket_sum(s, index, phases[j]), nv);
    }
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/*
 * Durations of hours keep their precision: the p99 of {50 x 3 h, 50 x 10 h}
 * is 10 h within the documented error (it was 3 h while everything past
 * 2^43 ns, about 2.4 h, shared one bucket), and the p50 is 3 h.
 */
static void test_percentiles__hours_keep_their_precision(void **state) {
  const uint64_t h = 3600ull * 1000000000ull;
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  size_t index;
  uint64_t p50 = 0, p99 = 0;
  int i;
  (void)state;
  for (i = 0; i < 100; i++) {
    bt_timing t = bt_test_timing("hours", i < 50 ? 3 * h : 10 * h);
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  s = bt_test_snapshot(m);
  index = bt_test_index(s, "hours");
  assert_status(BT_OK, bt_snapshot_quantile(&p50, s, index, BT_PHASE_TOTAL, 0.5));
  assert_status(BT_OK, bt_snapshot_quantile(&p99, s, index, BT_PHASE_TOTAL, 0.99));
  assert_u64_eq(p50, 3 * h);  /* clamped to the minimum, which is exact */
  assert_true(p99 >= 10 * h - 10 * h / 32 && p99 <= 10 * h);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/*
 * Every power of two and its neighbours, over the whole uint64 range: a
 * single value's bucket holds it, and the bucket is at most 2^(1/16) of its
 * lower bound wide, so a quantile reported inside it is within 1/32.
 */
static void test_percentiles__every_magnitude_has_a_fine_bucket(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  int e, d;
  (void)state;
  for (e = 5; e < 64; e++) {
    for (d = -1; d <= 1; d++) {
      const uint64_t v = (1ull << e) + (uint64_t)(int64_t)d * ((1ull << e) / 3);
      bt_timing t = bt_test_timing("magnitude", v);
      bt_bucket b;
      size_t n = 0, index;
      bt_metrics_reset(m);
      assert_status(BT_OK, bt_metrics_record(m, &t));
      s = bt_test_snapshot(m);
      index = bt_test_index(s, "magnitude");
      assert_status(BT_OK, bt_snapshot_buckets(&b, 1, &n, s, index, BT_PHASE_TOTAL));
      assert_int_equal(n, 1);
      assert_u64_le(b.lower_ns, v);
      assert_true(v < b.upper_ns || b.upper_ns == UINT64_MAX);
      /* width <= 2^(1/16) - 1 of the lower bound, i.e. < lower / 22 */
      assert_u64_le(b.upper_ns - b.lower_ns, b.lower_ns / 22 + 1);
      bt_snapshot_free(s);
    }
  }
  bt_metrics_free(m);
}

/* One sample: every percentile is that sample (clamped to [min, max]). */
static void test_percentiles__single_value_exact(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("single", 1000003);
  bt_snapshot *s;
  bt_phase_stats ps;
  uint64_t got = 0;
  (void)state;
  bt_test_set_phase(&t, BT_PHASE_NETWORK, 777777, 1);
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  ps = bt_test_phase_stats(s, "single", BT_PHASE_TOTAL);
  assert_u64_eq(ps.p50_ns, 1000003);
  assert_u64_eq(ps.p90_ns, 1000003);
  assert_u64_eq(ps.p99_ns, 1000003);
  assert_u64_eq(ps.p999_ns, 1000003);
  ps = bt_test_phase_stats(s, "single", BT_PHASE_NETWORK);
  assert_u64_eq(ps.p50_ns, 777777);
  assert_u64_eq(ps.p999_ns, 777777);
  assert_status(BT_OK, bt_snapshot_quantile(&got, s, 0, BT_PHASE_NETWORK, 0.37));
  assert_u64_eq(got, 777777);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* q outside [0, 1] or NaN: BT_E_INVALID, the output untouched. */
static void test_percentiles__quantile_out_of_range_invalid(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("range", 100);
  bt_snapshot *s;
  uint64_t got = 4242;
  (void)state;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, -0.0001));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, -1.0));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, 1.0001));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, 99.0));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, NAN));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, INFINITY));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, -INFINITY));
  assert_status(BT_E_INVALID, bt_snapshot_quantile(&got, s, 0, BT_PHASE_EXTRACT, NAN));
  assert_u64_eq(got, 4242);
  /* the edges themselves are fine */
  assert_status(BT_OK, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, 0.0));
  assert_u64_eq(got, 100);
  got = 0;
  assert_status(BT_OK, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, 1.0));
  assert_u64_eq(got, 100);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* No samples: every quantile is 0. */
static void test_percentiles__no_samples_zero(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("unentered", 100);
  bt_snapshot *s;
  uint64_t got = 4242;
  bt_phase_stats ps;
  (void)state;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_quantile(&got, s, 0, BT_PHASE_CONVERT, 0.5));
  assert_u64_eq(got, 0);
  got = 4242;
  assert_status(BT_OK, bt_snapshot_quantile(&got, s, 0, BT_PHASE_CONVERT, 1.0));
  assert_u64_eq(got, 0);
  ps = bt_test_phase_stats(s, "unentered", BT_PHASE_CONVERT);
  assert_u64_eq(ps.p50_ns, 0);
  assert_u64_eq(ps.p90_ns, 0);
  assert_u64_eq(ps.p99_ns, 0);
  assert_u64_eq(ps.p999_ns, 0);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* A quantile never decreases as q grows. */
static void test_percentiles__quantile_monotone_in_q(void **state) {
  uint64_t values[500];
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  uint64_t prev = 0;
  size_t i;
  (void)state;
  for (i = 0; i < 500; i++) values[i] = 37 + (uint64_t)i * (uint64_t)i * 91u;
  shuffle(values, 500);
  record_all(m, "monotone", values, 500);
  s = bt_test_snapshot(m);
  for (i = 0; i <= 1000; i++) {
    uint64_t got = 0;
    assert_status(BT_OK, bt_snapshot_quantile(&got, s, 0, BT_PHASE_TOTAL, (double)i / 1000.0));
    assert_u64_ge(got, prev);
    prev = got;
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percentiles__uniform_1_to_1000_us),
      cmocka_unit_test(test_percentiles__geometric_wide_range),
      cmocka_unit_test(test_percentiles__small_values_exact),
      cmocka_unit_test(test_percentiles__range_ends_counted),
      cmocka_unit_test(test_percentiles__hours_keep_their_precision),
      cmocka_unit_test(test_percentiles__every_magnitude_has_a_fine_bucket),
      cmocka_unit_test(test_percentiles__single_value_exact),
      cmocka_unit_test(test_percentiles__quantile_out_of_range_invalid),
      cmocka_unit_test(test_percentiles__no_samples_zero),
      cmocka_unit_test(test_percentiles__quantile_monotone_in_q),
  };
  return cmocka_run_group_tests_name("percentiles", tests, NULL, NULL);
}
