/*
 * boundarytrace from C the way an FFI user sees it: no header, no link-time
 * dependency. The library is found at run time by its SONAME
 * (dlopen("libboundarytrace.so.1"), searched along LD_LIBRARY_PATH, which
 * CTest sets to the build's library directory) or by the path given as
 * argv[1]. Every declaration below is copied from docs/ffi.md, as a user
 * would copy it.
 *
 * Checks: the version at run time before any other call; a four-phase
 * operation into a private sink, read back from a snapshot (operation stats,
 * a phase's p50, the total's p50, the text report); a timing recorded with
 * bt_metrics_record read back exactly; bad calls giving the documented
 * negative statuses and their names; bt_tracer_finish without a timing.
 *
 * Exit status 0 when every check passed, 1 on the first failure (with a
 * message on stderr).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the declarations an FFI user needs (docs/ffi.md) -------------------- */

typedef struct bt_tracer bt_tracer;
typedef struct bt_metrics bt_metrics;
typedef struct bt_snapshot bt_snapshot;

enum { MAX_PHASES = 32 }; /* BT_MAX_PHASES: the size of the arrays in bt_timing */

typedef struct bt_timing {
  size_t struct_size;
  const char *op_name;
  uint64_t total_ns, unattributed_ns, gil_held_ns, gil_released_ns, gil_wait_ns, items;
  uint32_t gil_releases, workers, flags, phase_count;
  uint64_t phase_ns[MAX_PHASES];
  uint32_t phase_entries[MAX_PHASES];
} bt_timing;

typedef struct bt_op_stats {
  size_t struct_size;
  const char *name;
  uint64_t count, errors, left_open, items, total_ns, gil_held_ns, gil_released_ns,
      gil_wait_ns, unattributed_ns, gil_releases, parallel_ops;
  uint32_t workers_max, reserved_;
} bt_op_stats;

typedef struct bt_phase_stats {
  size_t struct_size;
  const char *name;
  int32_t phase, gil_held;
  uint64_t count, entries, sum_ns, min_ns, max_ns, p50_ns, p90_ns, p99_ns, p999_ns;
} bt_phase_stats;

/* The version these declarations were copied from (BT_VERSION_NUMBER 0.1.0). */
#define WANT_VERSION_MIN 100u
#define WANT_VERSION_MAJOR 0u
#define SONAME "libboundarytrace.so.1" /* lib<name>.so.<BT_ABI_VERSION> */

enum { EXTRACT = 0, CONVERT = 1, NETWORK = 2, MATERIALIZE = 3, TOTAL = -1 };
enum { E_NULL = -1, E_UNKNOWN_PHASE = -4, E_PHASE_NOT_OPEN = -6, E_FINISHED = -7,
       E_STRUCT_SIZE = -8, E_NOT_FOUND = -12 };

static struct {
  unsigned (*version)(void);
  const char *(*version_string)(void);
  const char *(*status_name)(int);
  int (*metrics_new)(bt_metrics **);
  void (*metrics_free)(bt_metrics *);
  int (*metrics_record)(bt_metrics *, const bt_timing *);
  int (*metrics_snapshot)(bt_snapshot **, bt_metrics *);
  int (*tracer_new)(bt_tracer **, bt_metrics *, const char *);
  int (*phase_begin)(bt_tracer *, int32_t);
  int (*phase_end)(bt_tracer *, int32_t);
  int (*add_items)(bt_tracer *, uint64_t);
  int (*gil_release)(bt_tracer *);
  int (*gil_wait)(bt_tracer *, uint64_t);
  int (*finish)(bt_tracer *);
  int (*finish_timing)(bt_timing *, bt_tracer *);
  void (*tracer_free)(bt_tracer *);
  void (*snapshot_free)(bt_snapshot *);
  int (*snapshot_find)(size_t *, const bt_snapshot *, const char *);
  int (*op_stats)(bt_op_stats *, const bt_snapshot *, size_t);
  int (*phase_stats)(bt_phase_stats *, const bt_snapshot *, size_t, int32_t);
  int (*snapshot_format)(char *, size_t, size_t *, const bt_snapshot *);
} bt;

/* ---- checks --------------------------------------------------------------- */

static int g_checks;

#define FAIL(...)                                                    \
  do {                                                               \
    fprintf(stderr, "dlopen_c: FAILED at %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                                    \
    fputc('\n', stderr);                                             \
    exit(1);                                                         \
  } while (0)

#define CHECK(cond, ...) \
  do {                   \
    g_checks++;          \
    if (!(cond)) FAIL(__VA_ARGS__); \
  } while (0)

/* A call that must return 0 (BT_OK); names the status it got otherwise. */
#define OK(call)                                                                   \
  do {                                                                             \
    int st_ = (call);                                                              \
    g_checks++;                                                                    \
    if (st_ != 0) FAIL("%s returned %d (%s)", #call, st_, bt.status_name(st_));    \
  } while (0)

/* A call that must return `want`; names both statuses otherwise. */
#define STATUS(want, call)                                                           \
  do {                                                                               \
    int st_ = (call);                                                                \
    g_checks++;                                                                      \
    if (st_ != (want))                                                               \
      FAIL("%s returned %d (%s), want %d (%s)", #call, st_, bt.status_name(st_),     \
           (int)(want), bt.status_name(want));                                       \
  } while (0)

#define EQ_U64(a, b)                                                                  \
  CHECK((uint64_t)(a) == (uint64_t)(b), "%s == %llu, want %s == %llu", #a,            \
        (unsigned long long)(a), #b, (unsigned long long)(b))

static void load(void *lib, void *slot, const char *name) {
  void *p = dlsym(lib, name);
  if (p == NULL) FAIL("dlsym(%s): %s", name, dlerror());
  /* ISO C has no cast from void* to a function pointer; POSIX guarantees the copy works. */
  memcpy(slot, &p, sizeof p);
}

static void sleep_ns(long ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000L;
  ts.tv_nsec = ns % 1000000000L;
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* The version check, before anything else is called. */
static void check_version(void *lib) {
  unsigned v;
  char want[32];
  load(lib, &bt.version, "bt_version");
  load(lib, &bt.version_string, "bt_version_string");
  v = bt.version();
  /* Same release major (a new major may change meanings) and at least the
   * version the declarations come from (older ones may lack a function). The
   * ABI major is the SONAME's number, checked by loading SONAME. */
  if (v / 10000u != WANT_VERSION_MAJOR || v < WANT_VERSION_MIN)
    FAIL("libboundarytrace %u.%u.%u is not compatible: want %u.x, at least %u", v / 10000u,
         v / 100u % 100u, v % 100u, WANT_VERSION_MAJOR, WANT_VERSION_MIN);
  snprintf(want, sizeof want, "%u.%u.%u", v / 10000u, v / 100u % 100u, v % 100u);
  CHECK(strcmp(bt.version_string(), want) == 0, "bt_version_string() \"%s\" != \"%s\"",
        bt.version_string(), want);
  printf("dlopen_c: libboundarytrace %s (bt_version() = %u)\n", bt.version_string(), v);
}

static void load_all(void *lib) {
  load(lib, &bt.status_name, "bt_status_name");
  load(lib, &bt.metrics_new, "bt_metrics_new");
  load(lib, &bt.metrics_free, "bt_metrics_free");
  load(lib, &bt.metrics_record, "bt_metrics_record");
  load(lib, &bt.metrics_snapshot, "bt_metrics_snapshot");
  load(lib, &bt.tracer_new, "bt_tracer_new");
  load(lib, &bt.phase_begin, "bt_phase_begin");
  load(lib, &bt.phase_end, "bt_phase_end");
  load(lib, &bt.add_items, "bt_tracer_add_items");
  load(lib, &bt.gil_release, "bt_tracer_add_gil_release");
  load(lib, &bt.gil_wait, "bt_tracer_add_gil_wait");
  load(lib, &bt.finish, "bt_tracer_finish");
  load(lib, &bt.finish_timing, "bt_tracer_finish_timing");
  load(lib, &bt.tracer_free, "bt_tracer_free");
  load(lib, &bt.snapshot_free, "bt_snapshot_free");
  load(lib, &bt.snapshot_find, "bt_snapshot_find");
  load(lib, &bt.op_stats, "bt_snapshot_op_stats");
  load(lib, &bt.phase_stats, "bt_snapshot_phase_stats");
  load(lib, &bt.snapshot_format, "bt_snapshot_format");
}

#define NETWORK_SLEEP_NS 2000000L /* 2 ms in the network phase */
#define GIL_WAIT_NS 12345u

/* One traced four-phase operation into `m`; its timing goes to *tm. */
static void four_phase_operation(bt_metrics *m, bt_timing *tm) {
  bt_tracer *t = NULL;
  int phase;
  OK(bt.tracer_new(&t, m, "ffi_insert_many"));
  CHECK(t != NULL, "bt_tracer_new gave no tracer");
  for (phase = EXTRACT; phase <= MATERIALIZE; phase++) {
    OK(bt.phase_begin(t, phase));
    if (phase == CONVERT) OK(bt.gil_release(t)); /* convert + network under one release */
    if (phase == NETWORK) sleep_ns(NETWORK_SLEEP_NS);
    OK(bt.phase_end(t, phase));
  }
  OK(bt.gil_wait(t, GIL_WAIT_NS));
  OK(bt.add_items(t, 3));
  OK(bt.finish_timing(tm, t));
  /* a finished tracer refuses more work with the documented status */
  STATUS(E_FINISHED, bt.phase_begin(t, EXTRACT));
  bt.tracer_free(t);
}

static void check_traced(bt_metrics *m) {
  bt_timing tm;
  bt_snapshot *s = NULL;
  bt_op_stats os;
  bt_phase_stats ps;
  size_t index = 0, needed = 0;
  char *text;

  memset(&tm, 0, sizeof tm);
  tm.struct_size = sizeof tm;
  four_phase_operation(m, &tm);
  CHECK(strcmp(tm.op_name, "ffi_insert_many") == 0, "timing.op_name \"%s\"", tm.op_name);
  CHECK(tm.phase_count >= 4 && tm.phase_count <= MAX_PHASES, "timing.phase_count %u",
        (unsigned)tm.phase_count);
  EQ_U64(tm.items, 3);
  EQ_U64(tm.gil_releases, 1);
  EQ_U64(tm.gil_wait_ns, GIL_WAIT_NS);
  EQ_U64(tm.flags, 0);
  EQ_U64(tm.phase_entries[NETWORK], 1);
  CHECK(tm.phase_ns[NETWORK] >= (uint64_t)NETWORK_SLEEP_NS, "network %llu ns < the sleep",
        (unsigned long long)tm.phase_ns[NETWORK]);
  EQ_U64(tm.gil_released_ns, tm.phase_ns[CONVERT] + tm.phase_ns[NETWORK]);
  EQ_U64(tm.gil_held_ns, tm.phase_ns[EXTRACT] + tm.phase_ns[MATERIALIZE]);
  /* the GIL wait (a given figure here, not measured) comes out of the rest, down to 0 */
  {
    const uint64_t rest = tm.total_ns - tm.gil_held_ns - tm.gil_released_ns;
    EQ_U64(tm.unattributed_ns, rest > tm.gil_wait_ns ? rest - tm.gil_wait_ns : 0);
  }

  OK(bt.metrics_snapshot(&s, m));
  OK(bt.snapshot_find(&index, s, "ffi_insert_many"));

  memset(&os, 0, sizeof os);
  os.struct_size = sizeof os;
  OK(bt.op_stats(&os, s, index));
  CHECK(strcmp(os.name, "ffi_insert_many") == 0, "op_stats.name \"%s\"", os.name);
  CHECK(os.name == tm.op_name, "the interned name differs between timing and snapshot");
  EQ_U64(os.count, 1);
  EQ_U64(os.errors, 0);
  EQ_U64(os.items, 3);
  EQ_U64(os.gil_releases, 1);
  EQ_U64(os.gil_wait_ns, GIL_WAIT_NS);
  EQ_U64(os.total_ns, tm.total_ns);
  EQ_U64(os.gil_released_ns, tm.gil_released_ns);

  /* One sample: p50 is clamped to [min, max] = the sample itself. */
  memset(&ps, 0, sizeof ps);
  ps.struct_size = sizeof ps;
  OK(bt.phase_stats(&ps, s, index, NETWORK));
  CHECK(strcmp(ps.name, "network") == 0, "phase_stats.name \"%s\"", ps.name);
  EQ_U64(ps.phase, NETWORK);
  EQ_U64(ps.gil_held, 0);
  EQ_U64(ps.count, 1);
  EQ_U64(ps.entries, 1);
  EQ_U64(ps.p50_ns, tm.phase_ns[NETWORK]);
  CHECK(ps.p50_ns >= (uint64_t)NETWORK_SLEEP_NS, "network p50 %llu ns < the sleep",
        (unsigned long long)ps.p50_ns);
  OK(bt.phase_stats(&ps, s, index, TOTAL));
  CHECK(ps.gil_held == -1, "total gil_held %d, want -1", (int)ps.gil_held);
  EQ_U64(ps.p50_ns, tm.total_ns);

  /* snprintf semantics: ask for the length, then fill. */
  OK(bt.snapshot_format(NULL, 0, &needed, s));
  CHECK(needed > 0, "bt_snapshot_format needs 0 bytes");
  text = malloc(needed + 1);
  CHECK(text != NULL, "malloc");
  OK(bt.snapshot_format(text, needed + 1, &needed, s));
  CHECK(strlen(text) == needed, "report length %zu != needed %zu", strlen(text), needed);
  CHECK(strstr(text, "ffi_insert_many") != NULL, "report lacks the operation:\n%s", text);
  CHECK(strstr(text, "network") != NULL, "report lacks the network phase:\n%s", text);
  free(text);
  bt.snapshot_free(s);
}

/* A timing measured elsewhere, recorded and read back exactly. */
static void check_recorded(bt_metrics *m) {
  bt_timing tm;
  bt_snapshot *s = NULL;
  bt_op_stats os;
  bt_phase_stats ps;
  size_t index = 0;

  memset(&tm, 0, sizeof tm);
  tm.struct_size = sizeof tm;
  tm.op_name = "ffi_recorded";
  tm.total_ns = 1000000;
  tm.phase_ns[EXTRACT] = 100000;
  tm.phase_ns[CONVERT] = 200000;
  tm.phase_ns[NETWORK] = 300000;
  tm.phase_ns[MATERIALIZE] = 250000;
  tm.phase_entries[EXTRACT] = tm.phase_entries[CONVERT] = tm.phase_entries[MATERIALIZE] = 1;
  tm.phase_entries[NETWORK] = 2;
  tm.items = 7;
  tm.gil_releases = 2;
  OK(bt.metrics_record(m, &tm));

  OK(bt.metrics_snapshot(&s, m));
  OK(bt.snapshot_find(&index, s, "ffi_recorded"));
  memset(&os, 0, sizeof os);
  os.struct_size = sizeof os;
  OK(bt.op_stats(&os, s, index));
  EQ_U64(os.count, 1);
  EQ_U64(os.items, 7);
  EQ_U64(os.total_ns, 1000000);
  EQ_U64(os.gil_held_ns, 350000);
  EQ_U64(os.gil_released_ns, 500000);
  EQ_U64(os.unattributed_ns, 150000);
  EQ_U64(os.gil_releases, 2);
  memset(&ps, 0, sizeof ps);
  ps.struct_size = sizeof ps;
  OK(bt.phase_stats(&ps, s, index, NETWORK));
  EQ_U64(ps.entries, 2);
  EQ_U64(ps.p50_ns, 300000);
  OK(bt.phase_stats(&ps, s, index, MATERIALIZE));
  EQ_U64(ps.gil_held, 1);
  EQ_U64(ps.p50_ns, 250000);
  bt.snapshot_free(s);
}

/* Bad calls give the documented negative statuses, named by bt_status_name. */
static void check_bad_calls(bt_metrics *m) {
  bt_tracer *t = NULL;
  bt_snapshot *s = NULL;
  bt_op_stats os;
  size_t index = 0;
  int st;

  STATUS(E_NULL, bt.tracer_new(NULL, m, "x"));
  STATUS(E_NULL, bt.phase_begin(NULL, EXTRACT));
  OK(bt.tracer_new(&t, m, "ffi_bad_calls"));
  STATUS(E_PHASE_NOT_OPEN, bt.phase_end(t, NETWORK));
  STATUS(E_UNKNOWN_PHASE, bt.phase_begin(t, 31));
  CHECK(strcmp(bt.status_name(E_PHASE_NOT_OPEN), "BT_E_PHASE_NOT_OPEN") == 0,
        "bt_status_name(-6) = \"%s\"", bt.status_name(E_PHASE_NOT_OPEN));
  CHECK(strcmp(bt.status_name(0), "BT_OK") == 0, "bt_status_name(0) = \"%s\"",
        bt.status_name(0));
  bt.tracer_free(t); /* freed unfinished: records nothing */

  /* bt_tracer_finish records without a timing; a second finish is refused,
   * and bt_tracer_finish_timing wants its out struct. */
  OK(bt.tracer_new(&t, m, "ffi_plain_finish"));
  STATUS(E_NULL, bt.finish_timing(NULL, t));
  OK(bt.finish(t));
  STATUS(E_FINISHED, bt.finish(t));
  STATUS(E_NULL, bt.finish(NULL));
  bt.tracer_free(t);

  OK(bt.metrics_snapshot(&s, m));
  OK(bt.snapshot_find(&index, s, "ffi_plain_finish"));
  memset(&os, 0, sizeof os);
  os.struct_size = sizeof os;
  OK(bt.op_stats(&os, s, index));
  EQ_U64(os.count, 1);
  /* Freed unfinished, it recorded nothing. (Its name was bound to the sink
   * when the tracer was made, so the snapshot may list it, with count 0.) */
  memset(&os, 0, sizeof os);
  os.struct_size = sizeof os;
  st = bt.snapshot_find(&index, s, "ffi_bad_calls");
  CHECK(st == 0 || st == E_NOT_FOUND, "bt_snapshot_find returned %d (%s)", st, bt.status_name(st));
  if (st == 0) {
    OK(bt.op_stats(&os, s, index));
    EQ_U64(os.count, 0);
  }
  OK(bt.snapshot_find(&index, s, "ffi_insert_many"));
  memset(&os, 0, sizeof os);
  os.struct_size = sizeof(size_t); /* smaller than the first published struct */
  STATUS(E_STRUCT_SIZE, bt.op_stats(&os, s, index));
  bt.snapshot_free(s);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : SONAME;
  bt_metrics *m = NULL;
  void *lib;

  /* Not linked: the library is not in the process before dlopen. */
  CHECK(dlopen(SONAME, RTLD_NOW | RTLD_NOLOAD) == NULL,
        "%s is loaded before dlopen: the program must not link it", SONAME);
  lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) FAIL("dlopen(%s): %s (set LD_LIBRARY_PATH or pass the path)", path, dlerror());

  check_version(lib);
  load_all(lib);

  OK(bt.metrics_new(&m));
  check_traced(m);
  check_recorded(m);
  check_bad_calls(m);
  bt.metrics_free(m);

  if (dlclose(lib) != 0) FAIL("dlclose: %s", dlerror());
  printf("dlopen_c: %d checks passed\n", g_checks);
  return 0;
}
