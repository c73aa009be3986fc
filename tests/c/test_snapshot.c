/* Snapshots: interval takes, reset, histogram buckets, and all of it under races. */
#include "bt_test.h"

static void record(bt_metrics *m, const char *op, uint64_t total, uint64_t extract) {
  bt_timing t = bt_test_timing(op, total);
  if (extract) bt_test_set_phase(&t, BT_PHASE_EXTRACT, extract, 1);
  assert_status(BT_OK, bt_metrics_record(m, &t));
}

static uint64_t count_in(const bt_snapshot *s, const char *op) {
  bt_op_stats os = BT_OP_STATS_INIT;
  return bt_test_find_op(s, op, &os) ? os.count : 0;
}

static void take(bt_metrics *m, bt_snapshot **interval, bt_snapshot **cumulative) {
  *interval = NULL;
  if (cumulative) *cumulative = NULL;
  assert_status(BT_OK, bt_metrics_take(interval, cumulative, m));
  assert_non_null(*interval);
  if (cumulative) assert_non_null(*cumulative);
}

/* Each take holds what came since the previous one; the cumulative view is untouched. */
static void test_snapshot__take_intervals(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *iv, *cum, *plain;
  (void)state;
  record(m, "op", 100, 10);
  record(m, "op", 200, 20);
  record(m, "op", 300, 30);
  take(m, &iv, &cum);
  assert_u64_eq(count_in(iv, "op"), 3);
  assert_u64_eq(bt_test_op_stats(iv, "op").total_ns, 600);
  assert_u64_eq(count_in(cum, "op"), 3);
  bt_snapshot_free(iv);
  bt_snapshot_free(cum);

  record(m, "op", 1000, 0);
  record(m, "other", 5, 0);
  take(m, &iv, &cum);
  assert_u64_eq(count_in(iv, "op"), 1);
  assert_u64_eq(bt_test_op_stats(iv, "op").total_ns, 1000);
  assert_u64_eq(bt_test_phase_stats(iv, "op", BT_PHASE_TOTAL).min_ns, 1000);
  assert_u64_eq(bt_test_phase_stats(iv, "op", BT_PHASE_EXTRACT).count, 0);
  assert_u64_eq(count_in(iv, "other"), 1);
  assert_u64_eq(count_in(cum, "op"), 4);
  assert_u64_eq(bt_test_op_stats(cum, "op").total_ns, 1600);
  assert_u64_eq(bt_test_phase_stats(cum, "op", BT_PHASE_TOTAL).min_ns, 100);
  assert_u64_eq(bt_test_phase_stats(cum, "op", BT_PHASE_EXTRACT).count, 3);
  bt_snapshot_free(iv);
  bt_snapshot_free(cum);

  /* nothing new: an empty interval */
  take(m, &iv, NULL);
  assert_u64_eq(count_in(iv, "op"), 0);
  assert_u64_eq(count_in(iv, "other"), 0);
  bt_snapshot_free(iv);

  /* takes never touch the cumulative view */
  plain = bt_test_snapshot(m);
  assert_u64_eq(count_in(plain, "op"), 4);
  assert_u64_eq(count_in(plain, "other"), 1);
  bt_snapshot_free(plain);
  bt_metrics_free(m);
}

/* Interval snapshots tile time: each starts where the previous one ended. */
static void test_snapshot__take_interval_times(void **state) {
  bt_metrics *m;
  bt_snapshot *a, *b, *cum;
  bt_snapshot_info ia = BT_SNAPSHOT_INFO_INIT, ib = BT_SNAPSHOT_INFO_INIT,
                   ic = BT_SNAPSHOT_INFO_INIT;
  uint64_t created = bt_clock_now_ns(), before, after;
  (void)state;
  m = bt_test_metrics_new();
  take(m, &a, NULL);
  before = bt_clock_now_ns();
  take(m, &b, &cum);
  after = bt_clock_now_ns();
  assert_status(BT_OK, bt_snapshot_get_info(&ia, a));
  assert_status(BT_OK, bt_snapshot_get_info(&ib, b));
  assert_status(BT_OK, bt_snapshot_get_info(&ic, cum));
  assert_u64_ge(ia.start_ns, created);
  assert_u64_le(ia.start_ns, ia.end_ns);
  assert_u64_le(ia.end_ns, before);
  assert_u64_ge(ib.start_ns, ia.start_ns);
  assert_u64_le(ib.start_ns, ib.end_ns);
  assert_u64_ge(ib.end_ns, before);
  assert_u64_le(ib.end_ns, after);
  assert_u64_le(ic.start_ns, ia.end_ns); /* the cumulative view began at creation */
  assert_u64_ge(ic.start_ns, created);
  bt_snapshot_free(a);
  bt_snapshot_free(b);
  bt_snapshot_free(cum);
  bt_metrics_free(m);
}

/* Reset zeroes the interval as well as the cumulative view. */
static void test_snapshot__reset_zeroes_interval(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *iv, *cum;
  (void)state;
  record(m, "op", 100, 0);
  record(m, "op", 100, 0);
  assert_status(BT_OK, bt_metrics_reset(m));
  record(m, "op", 100, 0);
  take(m, &iv, &cum);
  assert_u64_eq(count_in(iv, "op"), 1);
  assert_u64_eq(count_in(cum, "op"), 1);
  bt_snapshot_free(iv);
  bt_snapshot_free(cum);
  bt_metrics_free(m);
}

/* One sample: one bucket that holds it. */
static void test_snapshot__buckets_single_value(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_bucket b[4];
  size_t n = 0;
  (void)state;
  record(m, "one", 123456, 777);
  s = bt_test_snapshot(m);
  memset(b, 0, sizeof b);
  assert_status(BT_OK, bt_snapshot_buckets(b, 4, &n, s, 0, BT_PHASE_TOTAL));
  assert_int_equal(n, 1);
  assert_u64_le(b[0].lower_ns, 123456);
  assert_true(b[0].upper_ns > 123456);
  assert_u64_eq(b[0].count, 1);
  assert_status(BT_OK, bt_snapshot_buckets(b, 4, &n, s, 0, BT_PHASE_EXTRACT));
  assert_int_equal(n, 1);
  assert_u64_le(b[0].lower_ns, 777);
  assert_true(b[0].upper_ns > 777);
  assert_u64_eq(b[0].count, 1);
  /* a phase never entered has no buckets */
  n = 99;
  assert_status(BT_OK, bt_snapshot_buckets(b, 4, &n, s, 0, BT_PHASE_NETWORK));
  assert_int_equal(n, 0);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* Buckets are non-empty, increasing, disjoint, hold min and max, and add up. */
static void test_snapshot__buckets_ordered_and_add_up(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  static bt_bucket b[4096];
  size_t n = 0, i;
  uint64_t sum = 0, v, min = UINT64_MAX, max = 0;
  (void)state;
  for (i = 0; i < 3000; i++) {
    v = 50 + (i * 7919u) % 5000000u;
    if (v < min) min = v;
    if (v > max) max = v;
    record(m, "spread", v, 0);
  }
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_buckets(b, 4096, &n, s, 0, BT_PHASE_TOTAL));
  assert_true(n > 1);
  assert_true(n <= 3000);
  for (i = 0; i < n; i++) {
    assert_true(b[i].count > 0);
    assert_true(b[i].lower_ns < b[i].upper_ns);
    if (i > 0) assert_u64_ge(b[i].lower_ns, b[i - 1].upper_ns);
    sum += b[i].count;
  }
  assert_u64_eq(sum, 3000);
  assert_u64_le(b[0].lower_ns, min);
  assert_true(b[0].upper_ns > min);
  assert_u64_le(b[n - 1].lower_ns, max);
  assert_true(b[n - 1].upper_ns > max);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* A short array: *count_out says how many there are, only cap are written. */
static void test_snapshot__buckets_cap_smaller_than_count(void **state) {
  static const uint64_t values[10] = {1, 100, 10000, 1000000, 100000000, 5, 500, 50000,
                                      5000000, 500000000};
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  bt_bucket all[16], part[4];
  size_t n = 0, i;
  (void)state;
  for (i = 0; i < 10; i++) record(m, "wide", values[i], 0);
  s = bt_test_snapshot(m);
  assert_status(BT_OK, bt_snapshot_buckets(NULL, 0, &n, s, 0, BT_PHASE_TOTAL));
  assert_int_equal(n, 10);
  assert_status(BT_OK, bt_snapshot_buckets(all, 16, &n, s, 0, BT_PHASE_TOTAL));
  assert_int_equal(n, 10);
  memset(part, 0xEE, sizeof part);
  n = 0;
  assert_status(BT_OK, bt_snapshot_buckets(part, 3, &n, s, 0, BT_PHASE_TOTAL));
  assert_int_equal(n, 10);
  for (i = 0; i < 3; i++) {
    assert_u64_eq(part[i].lower_ns, all[i].lower_ns);
    assert_u64_eq(part[i].upper_ns, all[i].upper_ns);
    assert_u64_eq(part[i].count, 1);
  }
  {
    bt_bucket guard;
    memset(&guard, 0xEE, sizeof guard);
    assert_memory_equal(&part[3], &guard, sizeof guard); /* nothing past cap */
  }
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

/* ------------------------------------------------------------------------- */
/* Races                                                                     */
/* ------------------------------------------------------------------------- */

#define WRITERS 8
#define PER_WRITER 20000

struct writer {
  bt_metrics *metrics;
  int n;
  int failures;
  int *stop; /* when not NULL: keep recording until *stop */
  uint64_t done;
};

/* Every record: extract 10, network 20, items 3, total varies (fills many buckets). */
static void *writer_loop(void *arg) {
  struct writer *w = (struct writer *)arg;
  uint64_t i;
  for (i = 0; w->stop ? !__atomic_load_n(w->stop, __ATOMIC_ACQUIRE) : i < (uint64_t)w->n; i++) {
    bt_timing t = bt_test_timing("raced", 100 + (i % 97) * 1013);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, 10, 1);
    bt_test_set_phase(&t, BT_PHASE_NETWORK, 20, 1);
    t.items = 3;
    if (bt_metrics_record(w->metrics, &t) != BT_OK) w->failures++;
    __atomic_add_fetch(&w->done, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

struct consistency {
  int checked;
  uint64_t count;
};

/*
 * A snapshot taken during the race must be internally consistent: counts equal
 * bucket sums, and since every record is identical but for its total, every
 * per-record sum is an exact multiple of the count (a torn record breaks that).
 */
static struct consistency check_consistent(const bt_snapshot *s) {
  struct consistency c = {0, 0};
  bt_op_stats os = BT_OP_STATS_INIT;
  size_t index;
  bt_phase_stats total, ex, net;
  if (!bt_test_find_op(s, "raced", &os)) return c;
  index = bt_test_index(s, "raced");
  total = bt_test_phase_stats(s, "raced", BT_PHASE_TOTAL);
  ex = bt_test_phase_stats(s, "raced", BT_PHASE_EXTRACT);
  net = bt_test_phase_stats(s, "raced", BT_PHASE_NETWORK);
  assert_u64_eq(total.count, os.count);
  assert_u64_eq(bt_test_bucket_sum(s, index, BT_PHASE_TOTAL), os.count);
  assert_u64_eq(ex.count, os.count);
  assert_u64_eq(bt_test_bucket_sum(s, index, BT_PHASE_EXTRACT), ex.count);
  assert_u64_eq(net.count, os.count);
  assert_u64_eq(bt_test_bucket_sum(s, index, BT_PHASE_NETWORK), net.count);
  assert_u64_eq(ex.entries, os.count);
  assert_u64_eq(ex.sum_ns, 10 * os.count);
  assert_u64_eq(net.sum_ns, 20 * os.count);
  assert_u64_eq(os.items, 3 * os.count);
  assert_u64_eq(os.gil_held_ns, 10 * os.count);
  assert_u64_eq(os.gil_released_ns, 20 * os.count);
  assert_u64_eq(total.sum_ns, os.total_ns);
  assert_u64_eq(os.unattributed_ns, os.total_ns - 30 * os.count);
  c.checked = 1;
  c.count = os.count;
  return c;
}

static void start_writers(pthread_t *threads, struct writer *w, bt_metrics *m, int *stop) {
  int i;
  memset(w, 0, sizeof *w * WRITERS);
  for (i = 0; i < WRITERS; i++) {
    w[i].metrics = m;
    w[i].n = PER_WRITER;
    w[i].stop = stop;
    assert_int_equal(0, pthread_create(&threads[i], NULL, writer_loop, &w[i]));
  }
}

static int writers_running(struct writer *w) {
  int i;
  for (i = 0; i < WRITERS; i++) {
    if (__atomic_load_n(&w[i].done, __ATOMIC_RELAXED) < (uint64_t)w[i].n) return 1;
  }
  return 0;
}

static void join_writers(pthread_t *threads, struct writer *w) {
  int i;
  for (i = 0; i < WRITERS; i++) {
    assert_int_equal(0, pthread_join(threads[i], NULL));
    assert_int_equal(w[i].failures, 0);
  }
}

/* bt_metrics_take while 8 threads record N each: the intervals add up to 8N exactly. */
static void test_snapshot__take_race_nothing_lost(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  pthread_t threads[WRITERS];
  struct writer w[WRITERS];
  uint64_t sum_counts = 0, sum_total_ns = 0, last_cum = 0;
  int takes = 0;
  bt_snapshot *iv, *cum;
  (void)state;
  start_writers(threads, w, m, NULL);
  while (writers_running(w)) {
    struct consistency ci, cc;
    take(m, &iv, &cum);
    ci = check_consistent(iv);
    cc = check_consistent(cum);
    if (ci.checked) {
      sum_counts += ci.count;
      sum_total_ns += bt_test_op_stats(iv, "raced").total_ns;
    }
    /* the cumulative view only grows, and holds every interval so far */
    assert_u64_ge(cc.count, last_cum);
    assert_u64_eq(cc.count, sum_counts);
    last_cum = cc.count;
    bt_snapshot_free(iv);
    bt_snapshot_free(cum);
    takes++;
  }
  join_writers(threads, w);
  take(m, &iv, &cum);
  {
    struct consistency ci = check_consistent(iv), cc = check_consistent(cum);
    bt_snapshot *plain = bt_test_snapshot(m);
    sum_counts += ci.count;
    if (ci.checked) sum_total_ns += bt_test_op_stats(iv, "raced").total_ns;
    assert_u64_eq(sum_counts, (uint64_t)WRITERS * PER_WRITER);
    assert_u64_eq(cc.count, (uint64_t)WRITERS * PER_WRITER);
    assert_u64_eq(bt_test_op_stats(cum, "raced").total_ns, sum_total_ns);
    assert_u64_eq(check_consistent(plain).count, (uint64_t)WRITERS * PER_WRITER);
    bt_snapshot_free(plain);
  }
  bt_snapshot_free(iv);
  bt_snapshot_free(cum);
  print_message("      %d takes during the race\n", takes);
  bt_metrics_free(m);
}

/* bt_metrics_snapshot while 8 threads record: consistent, growing, exact at the end. */
static void test_snapshot__snapshot_race_consistent(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  pthread_t threads[WRITERS];
  struct writer w[WRITERS];
  uint64_t last = 0;
  (void)state;
  start_writers(threads, w, m, NULL);
  while (writers_running(w)) {
    bt_snapshot *s = bt_test_snapshot(m);
    struct consistency c = check_consistent(s);
    assert_u64_ge(c.count, last);
    last = c.count;
    bt_snapshot_free(s);
  }
  join_writers(threads, w);
  assert_u64_eq(bt_test_count(m, "raced"), (uint64_t)WRITERS * PER_WRITER);
  bt_metrics_free(m);
}

/* bt_metrics_reset while 8 threads record: no record is torn in half. */
static void test_snapshot__reset_race_no_torn_records(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  pthread_t threads[WRITERS];
  struct writer w[WRITERS];
  int stop = 0, i;
  uint64_t written = 0;
  (void)state;
  start_writers(threads, w, m, &stop);
  for (i = 0; i < 200; i++) {
    bt_snapshot *s;
    assert_status(BT_OK, bt_metrics_reset(m));
    s = bt_test_snapshot(m);
    check_consistent(s);
    bt_snapshot_free(s);
    if (i % 4 == 0) {
      bt_snapshot *iv, *cum;
      take(m, &iv, &cum);
      check_consistent(iv);
      check_consistent(cum);
      bt_snapshot_free(iv);
      bt_snapshot_free(cum);
    }
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  join_writers(threads, w);
  for (i = 0; i < WRITERS; i++) written += w[i].done;
  {
    bt_snapshot *s = bt_test_snapshot(m);
    struct consistency c = check_consistent(s);
    assert_u64_le(c.count, written);
    bt_snapshot_free(s);
  }
  /* after the race a reset is total, and recording goes on */
  assert_status(BT_OK, bt_metrics_reset(m));
  assert_u64_eq(bt_test_count(m, "raced"), 0);
  {
    struct writer one;
    memset(&one, 0, sizeof one);
    one.metrics = m;
    one.n = 5;
    writer_loop(&one);
    assert_int_equal(one.failures, 0);
  }
  {
    bt_snapshot *s = bt_test_snapshot(m);
    assert_u64_eq(check_consistent(s).count, 5);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_snapshot__take_intervals),
      cmocka_unit_test(test_snapshot__take_interval_times),
      cmocka_unit_test(test_snapshot__reset_zeroes_interval),
      cmocka_unit_test(test_snapshot__buckets_single_value),
      cmocka_unit_test(test_snapshot__buckets_ordered_and_add_up),
      cmocka_unit_test(test_snapshot__buckets_cap_smaller_than_count),
      cmocka_unit_test(test_snapshot__take_race_nothing_lost),
      cmocka_unit_test(test_snapshot__snapshot_race_consistent),
      cmocka_unit_test(test_snapshot__reset_race_no_torn_records),
  };
  return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
