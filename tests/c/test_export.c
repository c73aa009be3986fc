/* Exports: JSON, Prometheus, OpenMetrics, folded stacks, atomic file writes.
 * (Parsers the project did not write check the same outputs in
 * tests/python/test_env_exports.py; here: the contract and exact figures.) */
#include "bt_test.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
  bt_metrics *m;
  bt_snapshot *s;
};

/* Two operations, one with a name that needs escaping everywhere. */
static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  bt_timing t;
  int i;
  f->m = bt_test_metrics_new();
  for (i = 0; i < 10; i++) {
    t = bt_test_timing("insert_many", 10000 + (uint64_t)i);
    bt_test_set_phase(&t, BT_PHASE_EXTRACT, 1000, 1);
    bt_test_set_phase(&t, BT_PHASE_NETWORK, 5000, 2);
    t.items = 100;
    t.gil_releases = 1;
    t.gil_wait_ns = 250;
    if (i == 0) t.flags = BT_TIMING_ERROR;
    assert_status(BT_OK, bt_metrics_record(f->m, &t));
  }
  t = bt_test_timing("odd \"name\" \\ here", 2000000000ull);
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 1500000000ull, 1);
  assert_status(BT_OK, bt_metrics_record(f->m, &t));
  assert_status(BT_OK, bt_metrics_snapshot(&f->s, f->m));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_snapshot_free(f->s);
  bt_metrics_free(f->m);
  free(f);
  return 0;
}

/* The export as a malloc'd string (asserting the snprintf contract). */
static char *export_text(const bt_snapshot *s, bt_format fmt) {
  size_t needed = 0, again = 0;
  char *buf;
  assert_status(BT_OK, bt_snapshot_export(NULL, 0, &needed, s, fmt));
  assert_true(needed > 0);
  buf = malloc(needed + 2);
  buf[needed + 1] = 'G'; /* guard past the terminating NUL */
  assert_status(BT_OK, bt_snapshot_export(buf, needed + 1, &again, s, fmt));
  assert_u64_eq(again, needed);
  assert_u64_eq(strlen(buf), needed);
  assert_int_equal(buf[needed + 1], 'G');
  return buf;
}

static void test_export__bad_arguments(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char buf[8];
  size_t n;
  assert_status(BT_E_NULL, bt_snapshot_export(buf, sizeof buf, &n, NULL, BT_FORMAT_JSON));
  assert_status(BT_E_NULL, bt_snapshot_export(buf, sizeof buf, NULL, f->s, BT_FORMAT_JSON));
  assert_status(BT_E_NULL, bt_snapshot_export(NULL, 4, &n, f->s, BT_FORMAT_JSON));
  assert_status(BT_E_INVALID, bt_snapshot_export(buf, sizeof buf, &n, f->s, (bt_format)7));
  assert_status(BT_E_INVALID, bt_snapshot_export(buf, sizeof buf, &n, f->s, (bt_format)-1));
  assert_status(BT_E_NULL, bt_snapshot_write(NULL, BT_FORMAT_JSON, "x.json"));
  assert_status(BT_E_NULL, bt_snapshot_write(f->s, BT_FORMAT_JSON, NULL));
  assert_status(BT_E_INVALID, bt_snapshot_write(f->s, BT_FORMAT_JSON, ""));
  assert_status(BT_E_INVALID, bt_snapshot_write(f->s, (bt_format)9, "x.json"));
  assert_status(BT_E_NULL, bt_format_for_path((bt_format *)&n, NULL));
  assert_status(BT_E_NULL, bt_format_for_path(NULL, "x.json"));
}

static void test_export__truncates_like_snprintf(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char *full = export_text(f->s, BT_FORMAT_PROMETHEUS);
  size_t len = strlen(full), needed = 0;
  char small[17];
  small[16] = 'G';
  assert_status(BT_OK, bt_snapshot_export(small, 16, &needed, f->s, BT_FORMAT_PROMETHEUS));
  assert_u64_eq(needed, len);
  assert_u64_eq(strlen(small), 15);
  assert_memory_equal(small, full, 15);
  assert_int_equal(small[16], 'G');
  free(full);
}

/* The protobuf formats write each message's length after it (a
 * placeholder, then moved up); into a caller's buffer too small for it
 * they write the other way (Prometheus: that family sized first; OTLP: the
 * whole request as one string). At every capacity, the buffer holds the
 * same prefix of the same bytes, NUL-terminated, and `needed` is the same:
 * both ways give one output. */
static void assert_same_at_every_capacity(const bt_snapshot *s, bt_format fmt) {
  size_t needed = 0, again = 0, cap;
  char *full, *buf;
  assert_status(BT_OK, bt_snapshot_export(NULL, 0, &needed, s, fmt));
  assert_true(needed > 100);
  full = malloc(needed + 1);
  buf = malloc(needed + 3);
  assert_status(BT_OK, bt_snapshot_export(full, needed + 1, &again, s, fmt));
  assert_u64_eq(again, needed);
  for (cap = 1; cap <= needed + 2; cap++) {
    size_t kept = cap - 1 < needed ? cap - 1 : needed;
    memset(buf, 'G', needed + 3);
    assert_status(BT_OK, bt_snapshot_export(buf, cap, &again, s, fmt));
    assert_u64_eq(again, needed);
    assert_memory_equal(buf, full, kept);
    assert_int_equal(buf[kept], '\0');
    assert_int_equal(buf[cap], 'G'); /* nothing past the capacity */
  }
  free(buf);
  free(full);
}

static void test_export__protobuf_truncates_at_every_capacity(void **state) {
  struct fixture *f = (struct fixture *)*state;
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *no_wait = NULL;
  bt_timing t = bt_test_timing("no_wait", 5000);
  assert_same_at_every_capacity(f->s, BT_FORMAT_PROMETHEUS_PROTOBUF);
  assert_same_at_every_capacity(f->s, BT_FORMAT_OTLP_PROTOBUF);
  /* OTLP leaves the GIL-wait metric out when no operation has a point */
  bt_test_set_phase(&t, BT_PHASE_CONVERT, 3000, 1);
  assert_status(BT_OK, bt_metrics_record(m, &t));
  assert_status(BT_OK, bt_metrics_snapshot(&no_wait, m));
  assert_same_at_every_capacity(no_wait, BT_FORMAT_OTLP_PROTOBUF);
  assert_same_at_every_capacity(no_wait, BT_FORMAT_PROMETHEUS_PROTOBUF);
  bt_snapshot_free(no_wait);
  bt_metrics_free(m);
}

static void test_export__json_holds_every_figure(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char *j = export_text(f->s, BT_FORMAT_JSON);
  assert_non_null(strstr(j, "\"schema\":\"boundarytrace.snapshot\",\"version\":1"));
  assert_non_null(strstr(j, "\"name\":\"insert_many\",\"count\":10,\"errors\":1,"));
  assert_non_null(strstr(j, "\"items\":1000,"));
  assert_non_null(strstr(j, "\"gil_wait_ns\":2500,"));
  assert_non_null(strstr(j, "\"gil_releases\":10,"));
  /* network: 10 samples of 5000 ns in one bucket, entered twice each */
  assert_non_null(strstr(j, "\"network\":{\"count\":10,\"entries\":20,\"sum_ns\":50000,\"min_ns\":5000,\"max_ns\":5000,"));
  assert_non_null(strstr(j, "\"buckets\":[[4871,5087,10]]"));
  /* the GIL wait per operation: 10 waits of 250 ns over 10 releases */
  assert_non_null(strstr(j, "\"gil_wait\":{\"count\":10,\"entries\":10,\"sum_ns\":2500,\"min_ns\":250,\"max_ns\":250,"));
  /* an operation that never released the GIL: an empty one */
  assert_non_null(strstr(j, "\"gil_wait\":{\"count\":0,\"entries\":0,\"sum_ns\":0,\"min_ns\":0,\"max_ns\":0,"));
  /* quotes and backslashes escaped */
  assert_non_null(strstr(j, "\"name\":\"odd \\\"name\\\" \\\\ here\""));
  assert_non_null(strstr(j, "{\"id\":0,\"name\":\"extract\",\"gil_held\":true}"));
  assert_int_equal(j[strlen(j) - 1], '\n');
  free(j);
}

static void test_export__prometheus_histograms_and_counters(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char *p = export_text(f->s, BT_FORMAT_PROMETHEUS);
  assert_non_null(strstr(p, "# TYPE boundarytrace_operations_total counter\n"));
  assert_non_null(strstr(p, "boundarytrace_operations_total{op=\"insert_many\"} 10\n"));
  assert_non_null(strstr(p, "boundarytrace_errors_total{op=\"insert_many\"} 1\n"));
  assert_non_null(strstr(p, "boundarytrace_gil_wait_seconds_total{op=\"insert_many\"} 0.0000025\n"));
  assert_non_null(strstr(p, "# TYPE boundarytrace_phase_seconds histogram\n"));
  /* the wait per operation, of the operations that released the GIL only */
  assert_non_null(strstr(p, "# TYPE boundarytrace_operation_gil_wait_seconds histogram\n"));
  assert_non_null(strstr(p, "boundarytrace_operation_gil_wait_seconds_bucket{op=\"insert_many\",le=\"0.000000256\"} 10\n"));
  assert_non_null(strstr(p, "boundarytrace_operation_gil_wait_seconds_sum{op=\"insert_many\"} 0.0000025\n"));
  assert_non_null(strstr(p, "boundarytrace_operation_gil_wait_seconds_count{op=\"insert_many\"} 10\n"));
  assert_null(strstr(p, "boundarytrace_operation_gil_wait_seconds_count{op=\"odd"));
  /* 5000 ns < 8192 ns = 2^13: cumulative bucket exact */
  assert_non_null(strstr(p, "boundarytrace_phase_seconds_bucket{op=\"insert_many\",phase=\"network\",le=\"0.000004096\"} 0\n"));
  assert_non_null(strstr(p, "boundarytrace_phase_seconds_bucket{op=\"insert_many\",phase=\"network\",le=\"0.000008192\"} 10\n"));
  assert_non_null(strstr(p, "boundarytrace_phase_seconds_bucket{op=\"insert_many\",phase=\"network\",le=\"+Inf\"} 10\n"));
  assert_non_null(strstr(p, "boundarytrace_phase_seconds_sum{op=\"insert_many\",phase=\"network\"} 0.00005\n"));
  assert_non_null(strstr(p, "boundarytrace_phase_seconds_count{op=\"insert_many\",phase=\"network\"} 10\n"));
  assert_non_null(strstr(p, "boundarytrace_phase_entries_total{op=\"insert_many\",phase=\"network\"} 20\n"));
  assert_non_null(strstr(p, "{op=\"odd \\\"name\\\" \\\\ here\",phase=\"convert\",le=\"+Inf\"} 1\n"));
  assert_null(strstr(p, "# EOF"));
  free(p);
}

/* `le` means "at most": a sample of exactly 2^10 ns counts in le=1.024e-6,
   as Prometheus defines it (the core's buckets close on powers of two). */
static void test_export__prometheus_le_includes_its_bound(void **state) {
  bt_metrics *m = bt_test_metrics_new();
  bt_timing t = bt_test_timing("on_bound", 1024);
  bt_snapshot *s;
  char *p;
  (void)state;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  t.total_ns = 1025;
  assert_status(BT_OK, bt_metrics_record(m, &t));
  s = bt_test_snapshot(m);
  p = export_text(s, BT_FORMAT_PROMETHEUS);
  assert_non_null(strstr(p, "boundarytrace_operation_seconds_bucket{op=\"on_bound\",le=\"0.000000512\"} 0\n"));
  assert_non_null(strstr(p, "boundarytrace_operation_seconds_bucket{op=\"on_bound\",le=\"0.000001024\"} 1\n"));
  assert_non_null(strstr(p, "boundarytrace_operation_seconds_bucket{op=\"on_bound\",le=\"0.000002048\"} 2\n"));
  free(p);
  bt_snapshot_free(s);
  bt_metrics_free(m);
}

static void test_export__openmetrics_names_and_eof(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char *o = export_text(f->s, BT_FORMAT_OPENMETRICS);
  size_t n = strlen(o);
  assert_non_null(strstr(o, "# TYPE boundarytrace_operations counter\n"));
  assert_non_null(strstr(o, "boundarytrace_operations_total{op=\"insert_many\"} 10\n"));
  assert_non_null(strstr(o, "# UNIT boundarytrace_phase_seconds seconds\n"));
  assert_true(n > 6);
  assert_string_equal(o + n - 6, "# EOF\n");
  free(o);
}

static void test_export__folded_adds_up_to_total(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char *fo = export_text(f->s, BT_FORMAT_FOLDED);
  /* insert_many: extract 10x1000, network 10x5000, GIL wait 10x250,
   * unattributed = total - phases - wait */
  assert_non_null(strstr(fo, "insert_many;extract 10000\n"));
  assert_non_null(strstr(fo, "insert_many;network 50000\n"));
  assert_non_null(strstr(fo, "insert_many;GIL_wait 2500\n"));
  assert_non_null(strstr(fo, "insert_many;unattributed 37545\n"));
  /* ';' and ' ' would split frames: replaced */
  assert_non_null(strstr(fo, "odd_\"name\"_\\_here;convert 1500000000\n"));
  free(fo);
}

static void test_export__text_is_the_report(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char *t = export_text(f->s, BT_FORMAT_TEXT);
  size_t n = 0;
  char *r;
  assert_status(BT_OK, bt_snapshot_format(NULL, 0, &n, f->s));
  r = malloc(n + 1);
  assert_status(BT_OK, bt_snapshot_format(r, n + 1, &n, f->s));
  assert_string_equal(t, r);
  free(r);
  free(t);
}

static void test_export__format_for_path(void **state) {
  static const struct {
    const char *path;
    bt_format want;
  } cases[] = {
      {"a.json", BT_FORMAT_JSON},       {"/x/y/A.JSON", BT_FORMAT_JSON}, {"m.prom", BT_FORMAT_PROMETHEUS},
      {"m.om", BT_FORMAT_OPENMETRICS}, {"m.openmetrics", BT_FORMAT_OPENMETRICS},
      {"s.folded", BT_FORMAT_FOLDED},   {"r.txt", BT_FORMAT_TEXT},       {"noext", BT_FORMAT_TEXT},
      {"json", BT_FORMAT_TEXT},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bt_format got = (bt_format)-1;
    assert_status(BT_OK, bt_format_for_path(&got, cases[i].path));
    if (got != cases[i].want) fail_msg("%s: got %d, want %d", cases[i].path, (int)got, (int)cases[i].want);
  }
}

static char *read_file(const char *path) {
  FILE *fp = fopen(path, "rb");
  long n;
  char *buf;
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  }
  closedir(d);
  return n;
}

/* How many times `text` occurs in buf[0..n). */
static int occurrences(const char *buf, size_t n, const char *text) {
  int count = 0;
  const char *p = buf, *end = buf + n;
  while ((p = memmem(p, (size_t)(end - p), text, strlen(text))) != NULL) {
    count++;
    p++;
  }
  return count;
}

/* The OTLP resource takes OTEL_RESOURCE_ATTRIBUTES as the OpenTelemetry SDKs
 * do (items split at ',', blanks stripped, values %-decoded, a later key
 * replacing an earlier one's value) and OTEL_SERVICE_NAME over it; an item
 * that is not key=value is left out and said once, however many exports. */
static void test_export__otlp_resource_from_the_environment(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char err_path[] = "/tmp/bt_otlp_err_XXXXXX", line[512];
  int err_fd = mkstemp(err_path), saved = dup(2), lines = 0, i;
  size_t n = 0;
  char *buf = NULL;
  FILE *fp;
  assert_true(err_fd >= 0 && saved >= 0);
  setenv("OTEL_RESOURCE_ATTRIBUTES", " team = data%20eng ,host.name=web-1,broken,,odd=%zz%41,team=ops%2Cdata", 1);
  setenv("OTEL_SERVICE_NAME", "svc", 1);
  fflush(stderr);
  assert_int_equal(dup2(err_fd, 2), 2);
  for (i = 0; i < 2; i++) {
    free(buf);
    assert_status(BT_OK, bt_snapshot_export(NULL, 0, &n, f->s, BT_FORMAT_OTLP_PROTOBUF));
    buf = malloc(n + 1);
    assert_status(BT_OK, bt_snapshot_export(buf, n + 1, &n, f->s, BT_FORMAT_OTLP_PROTOBUF));
  }
  fflush(stderr);
  assert_int_equal(dup2(saved, 2), 2);
  close(saved);
  unsetenv("OTEL_RESOURCE_ATTRIBUTES");
  unsetenv("OTEL_SERVICE_NAME");
  assert_int_equal(1, occurrences(buf, n, "team"));
  assert_int_equal(1, occurrences(buf, n, "ops,data"));    /* the later value, decoded */
  assert_int_equal(0, occurrences(buf, n, "data eng"));    /* replaced */
  assert_int_equal(1, occurrences(buf, n, "host.name"));   /* the variable's, not gethostname's */
  assert_int_equal(1, occurrences(buf, n, "web-1"));
  assert_int_equal(1, occurrences(buf, n, "%zzA"));        /* a bad escape stays as it is */
  assert_int_equal(1, occurrences(buf, n, "service.name"));
  assert_int_equal(1, occurrences(buf, n, "svc"));
  assert_int_equal(0, occurrences(buf, n, "unknown_service"));
  assert_int_equal(0, occurrences(buf, n, "broken"));
  assert_int_equal(1, occurrences(buf, n, "process.pid"));
  free(buf);
  fp = fdopen(err_fd, "r");
  assert_non_null(fp);
  rewind(fp);
  while (fgets(line, sizeof line, fp)) {
    lines++;
    assert_non_null(strstr(line, "OTEL_RESOURCE_ATTRIBUTES"));
    assert_non_null(strstr(line, "not key=value"));
  }
  fclose(fp);
  unlink(err_path);
  assert_int_equal(1, lines);
}

static void test_export__write_is_atomic_and_complete(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char dir[] = "/tmp/bt_export_XXXXXX";
  char path[128], *want, *got;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/snap.json", dir);
  assert_status(BT_OK, bt_snapshot_write(f->s, BT_FORMAT_JSON, path));
  /* written twice: the second replaces the first whole */
  assert_status(BT_OK, bt_snapshot_write(f->s, BT_FORMAT_JSON, path));
  want = export_text(f->s, BT_FORMAT_JSON);
  got = read_file(path);
  assert_string_equal(got, want);
  assert_int_equal(count_entries(dir), 1); /* no temporary file left */
  free(want);
  free(got);
  unlink(path);
  rmdir(dir);
}

static void test_export__write_failure_is_io_and_leaves_nothing(void **state) {
  struct fixture *f = (struct fixture *)*state;
  char dir[] = "/tmp/bt_export_XXXXXX";
  char path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/missing/snap.prom", dir);
  errno = 0;
  assert_status(BT_E_IO, bt_snapshot_write(f->s, BT_FORMAT_PROMETHEUS, path));
  assert_int_equal(errno, ENOENT);
  /* a directory in the way of the rename */
  snprintf(path, sizeof path, "%s/adir", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  assert_status(BT_E_IO, bt_snapshot_write(f->s, BT_FORMAT_PROMETHEUS, path));
  assert_int_equal(count_entries(dir), 1); /* only adir: the temporary file is gone */
  rmdir(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_export__bad_arguments),
      cmocka_unit_test(test_export__truncates_like_snprintf),
      cmocka_unit_test(test_export__protobuf_truncates_at_every_capacity),
      cmocka_unit_test(test_export__json_holds_every_figure),
      cmocka_unit_test(test_export__prometheus_histograms_and_counters),
      cmocka_unit_test(test_export__prometheus_le_includes_its_bound),
      cmocka_unit_test(test_export__openmetrics_names_and_eof),
      cmocka_unit_test(test_export__folded_adds_up_to_total),
      cmocka_unit_test(test_export__text_is_the_report),
      cmocka_unit_test(test_export__format_for_path),
      cmocka_unit_test(test_export__otlp_resource_from_the_environment),
      cmocka_unit_test(test_export__write_is_atomic_and_complete),
      cmocka_unit_test(test_export__write_failure_is_io_and_leaves_nothing),
  };
  return cmocka_run_group_tests_name("export", tests, setup, teardown);
}
