/*
 * Loading and unloading the library 100 times: no crash, no thread left behind.
 * Not linked to the library: the path comes as argv[1] and every function is
 * found with dlsym. Only the header's types are used at compile time.
 *
 *   test_dlopen /path/to/libboundarytrace.so.1
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <boundarytrace/bt.h>

#define ITERATIONS 100

static const char *g_library;

/* Entries of /proc/self/task: the threads of this process. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n;
}

/* The signatures come from the header: a mismatch does not compile. */
struct api {
  __typeof__(&bt_version) version;
  __typeof__(&bt_metrics_new) metrics_new;
  __typeof__(&bt_metrics_free) metrics_free;
  __typeof__(&bt_tracer_new) tracer_new;
  __typeof__(&bt_phase_begin) phase_begin;
  __typeof__(&bt_phase_end) phase_end;
  __typeof__(&bt_tracer_add_items) add_items;
  __typeof__(&bt_tracer_finish_timing) finish;
  __typeof__(&bt_tracer_free) tracer_free;
  __typeof__(&bt_metrics_snapshot) snapshot;
  __typeof__(&bt_snapshot_find) find;
  __typeof__(&bt_snapshot_op_stats) op_stats;
  __typeof__(&bt_snapshot_format) format;
  __typeof__(&bt_snapshot_free) snapshot_free;
};

static void *sym(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (p == NULL) fail_msg("dlsym(%s): %s", name, dlerror());
  return p;
}

static void load_api(void *lib, struct api *a) {
  /* through a void* object: ISO C has no cast from void* to a function pointer */
#define LOAD(field, name) *(void **)(&a->field) = sym(lib, name)
  LOAD(version, "bt_version");
  LOAD(metrics_new, "bt_metrics_new");
  LOAD(metrics_free, "bt_metrics_free");
  LOAD(tracer_new, "bt_tracer_new");
  LOAD(phase_begin, "bt_phase_begin");
  LOAD(phase_end, "bt_phase_end");
  LOAD(add_items, "bt_tracer_add_items");
  LOAD(finish, "bt_tracer_finish_timing");
  LOAD(tracer_free, "bt_tracer_free");
  LOAD(snapshot, "bt_metrics_snapshot");
  LOAD(find, "bt_snapshot_find");
  LOAD(op_stats, "bt_snapshot_op_stats");
  LOAD(format, "bt_snapshot_format");
  LOAD(snapshot_free, "bt_snapshot_free");
#undef LOAD
}

/* One operation traced into a private sink, checked, everything freed. */
static void trace_once(const struct api *a, int iteration) {
  bt_metrics *m = NULL;
  bt_tracer *t = NULL;
  bt_snapshot *s = NULL;
  bt_timing tm = BT_TIMING_INIT;
  bt_op_stats os = BT_OP_STATS_INIT;
  size_t index = 99, needed = 0;
  assert_int_equal(a->version(), BT_VERSION_NUMBER);
  assert_int_equal(a->metrics_new(&m), BT_OK);
  assert_int_equal(a->tracer_new(&t, m, "dlopen_op"), BT_OK);
  assert_int_equal(a->phase_begin(t, BT_PHASE_NETWORK), BT_OK);
  assert_int_equal(a->phase_end(t, BT_PHASE_NETWORK), BT_OK);
  assert_int_equal(a->add_items(t, (uint64_t)iteration), BT_OK);
  assert_int_equal(a->finish(&tm, t), BT_OK);
  a->tracer_free(t);
  assert_string_equal(tm.op_name, "dlopen_op");
  assert_int_equal(tm.phase_entries[BT_PHASE_NETWORK], 1);
  assert_int_equal(a->snapshot(&s, m), BT_OK);
  assert_int_equal(a->find(&index, s, "dlopen_op"), BT_OK);
  assert_int_equal(a->op_stats(&os, s, index), BT_OK);
  assert_int_equal(os.count, 1);
  assert_int_equal(os.items, (uint64_t)iteration);
  assert_int_equal(a->format(NULL, 0, &needed, s), BT_OK);
  assert_true(needed > 0);
  a->snapshot_free(s);
  a->metrics_free(m);
}

static void test_dlopen__load_unload_loop(void **state) {
  int threads_at_start, i;
  (void)state;
  /* not linked: nothing of the library is in the process before dlopen */
  assert_null(dlsym(RTLD_DEFAULT, "bt_version"));
  threads_at_start = thread_count();
  for (i = 0; i < ITERATIONS; i++) {
    struct api a;
    void *lib = dlopen(g_library, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) fail_msg("dlopen(%s): %s", g_library, dlerror());
    load_api(lib, &a);
    trace_once(&a, i);
    assert_int_equal(dlclose(lib), 0);
    assert_int_equal(thread_count(), threads_at_start);
  }
  assert_int_equal(thread_count(), threads_at_start);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dlopen__load_unload_loop),
  };
  if (argc < 2) {
    fprintf(stderr, "usage: %s /path/to/libboundarytrace.so\n", argv[0]);
    return 2;
  }
  g_library = argv[1];
  return cmocka_run_group_tests_name("dlopen", tests, NULL, NULL);
}
