/*
 * The shared sink (bt_metrics_open_shared, bt_snapshot_read_shared): many
 * processes record into one directory and any process merges it. Counts are
 * exact across forks, threads, worker churn and SIGKILL (a killed process
 * loses at most the records it had in flight), histograms are never torn,
 * the directory stays small, and bad directories and files get a clear
 * status or are skipped with a reason.
 */
#include "bt_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_self[4096];

/* ---- helpers -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void make_dir(char *buf, size_t cap) {
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(buf, cap, "%s/bt-shared-test-XXXXXX", base);
  assert_non_null(mkdtemp(buf));
}

static void remove_dir(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static size_t files_in(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  }
  closedir(d);
  return n;
}

static bt_snapshot *read_dir(const char *dir) {
  bt_snapshot *s = NULL;
  assert_status(BT_OK, bt_snapshot_read_shared(&s, dir));
  assert_non_null(s);
  return s;
}

static bt_snapshot_info info_of(const bt_snapshot *s) {
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  assert_status(BT_OK, bt_snapshot_get_info(&info, s));
  return info;
}

static uint64_t count_in(const bt_snapshot *s, const char *op) {
  bt_op_stats st = BT_OP_STATS_INIT;
  return bt_test_find_op(s, op, &st) ? st.count : 0;
}

/* One operation with a convert phase, as a traced call records it. */
static void record_one(bt_metrics *m, const char *op) {
  bt_tracer *t = NULL;
  assert_status(BT_OK, bt_tracer_new(&t, m, op));
  assert_status(BT_OK, bt_phase_begin(t, BT_PHASE_CONVERT));
  assert_status(BT_OK, bt_phase_end(t, BT_PHASE_CONVERT));
  assert_status(BT_OK, bt_tracer_add_items(t, 2));
  assert_status(BT_OK, bt_tracer_add_gil_release(t));
  assert_status(BT_OK, bt_tracer_add_gil_wait(t, 1000));
  assert_status(BT_OK, bt_tracer_finish(t));
  bt_tracer_free(t);
}

/* The GIL wait of `n` record_one() calls: its own distribution, whole. */
static void assert_waits(const bt_snapshot *s, const char *op, uint64_t n) {
  bt_phase_stats w = bt_test_phase_stats(s, op, BT_PHASE_GIL_WAIT);
  assert_u64_eq(w.count, n);
  assert_u64_eq(w.entries, n);
  assert_u64_eq(w.sum_ns, 1000 * n);
  assert_u64_eq(w.min_ns, 1000);
  assert_u64_eq(w.max_ns, 1000);
  assert_u64_eq(bt_test_op_stats(s, op).gil_wait_ns, 1000 * n);
}

/* Every distribution of every operation is whole: its count is the sum of
 * its buckets and min <= p50 <= p99 <= max. */
static void assert_whole(const bt_snapshot *s) {
  size_t n = 0, i;
  bt_phase_id phases[] = {BT_PHASE_TOTAL, BT_PHASE_GIL_WAIT, BT_PHASE_EXTRACT, BT_PHASE_CONVERT, BT_PHASE_NETWORK,
                          BT_PHASE_MATERIALIZE};
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  for (i = 0; i < n; i++) {
    size_t k;
    for (k = 0; k < sizeof phases / sizeof phases[0]; k++) {
      bt_phase_stats ps = BT_PHASE_STATS_INIT;
      assert_status(BT_OK, bt_snapshot_phase_stats(&ps, s, i, phases[k]));
      assert_u64_eq(bt_test_bucket_sum(s, i, phases[k]), ps.count);
      if (ps.count) {
        assert_u64_le(ps.min_ns, ps.p50_ns);
        assert_u64_le(ps.p50_ns, ps.p99_ns);
        assert_u64_le(ps.p99_ns, ps.max_ns);
      }
    }
  }
}

/* ---- one process ---------------------------------------------------------- */

static void test_shared__records_and_merges(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  bt_snapshot *s, *own;
  bt_snapshot_info info;
  struct stat st;
  char path[512];
  int i;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  assert_non_null(m);
  for (i = 0; i < 100; i++) record_one(m, "insert_many");
  {
    bt_op *op = NULL;
    assert_status(BT_OK, bt_op_lookup(&op, m, "looked_up_only"));
  }
  s = read_dir(dir);
  own = bt_test_snapshot(m); /* the sink's own snapshot merges the directory too */
  assert_u64_eq(count_in(s, "insert_many"), 100);
  assert_u64_eq(count_in(own, "insert_many"), 100);
  assert_u64_eq(bt_test_op_stats(s, "insert_many").items, 200);
  assert_u64_eq(bt_test_phase_stats(s, "insert_many", BT_PHASE_CONVERT).count, 100);
  assert_waits(s, "insert_many", 100);
  assert_waits(own, "insert_many", 100);
  assert_true(bt_test_find_op(s, "looked_up_only", NULL)); /* listed, count 0 */
  assert_u64_eq(count_in(s, "looked_up_only"), 0);
  info = info_of(s);
  assert_int_equal(info.processes, 1);
  assert_int_equal(info.skipped, 0);
  assert_u64_eq(info.dropped, 0);
  assert_whole(s);
  bt_snapshot_free(s);
  bt_snapshot_free(own);

  /* Files: the directory 0700, each file 0600. */
  assert_int_equal(0, stat(dir, &st));
  assert_int_equal(st.st_mode & 0777, 0700);
  snprintf(path, sizeof path, "%s/slot-0.bt", dir);
  assert_int_equal(0, stat(path, &st));
  assert_int_equal(st.st_mode & 0777, 0600);

  /* take and reset belong to one process; the figures to all. */
  {
    bt_snapshot *a = NULL, *b = NULL;
    assert_status(BT_E_INVALID, bt_metrics_take(&a, &b, m));
    assert_null(a);
    assert_status(BT_E_INVALID, bt_metrics_reset(m));
  }
  bt_metrics_free(m);

  /* Freed, the slot is dead but its figures stay, and a new process folds them. */
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "insert_many"), 100);
  bt_snapshot_free(s);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "insert_many");
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "insert_many"), 101);
  assert_waits(s, "insert_many", 101); /* the folded archive keeps the wait */
  assert_int_equal(info_of(s).processes, 2);
  bt_snapshot_free(s);
  bt_metrics_free(m);
  remove_dir(dir);
}

static void test_shared__bad_input(void **state) {
  char dir[256], path[512];
  bt_metrics *m = (bt_metrics *)&m;
  bt_snapshot *s = (bt_snapshot *)&s;
  const char *p = NULL, *r = NULL;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_E_NULL, bt_metrics_open_shared(NULL, dir));
  assert_status(BT_E_NULL, bt_metrics_open_shared(&m, NULL));
  assert_status(BT_E_INVALID, bt_metrics_open_shared(&m, ""));
  assert_status(BT_E_NULL, bt_snapshot_read_shared(NULL, dir));
  assert_status(BT_E_NULL, bt_snapshot_read_shared(&s, NULL));
  assert_status(BT_E_INVALID, bt_snapshot_read_shared(&s, ""));

  /* A directory others may write into: refused, nothing created in it. */
  assert_int_equal(0, chmod(dir, 0777));
  errno = 0;
  assert_status(BT_E_IO, bt_metrics_open_shared(&m, dir));
  assert_int_equal(errno, EACCES);
  errno = 0;
  assert_status(BT_E_IO, bt_snapshot_read_shared(&s, dir));
  assert_int_equal(errno, EACCES);
  assert_int_equal(files_in(dir), 0);
  assert_int_equal(0, chmod(dir, 0700));

  /* Missing for reading, a regular file for either. */
  snprintf(path, sizeof path, "%s/missing", dir);
  errno = 0;
  assert_status(BT_E_IO, bt_snapshot_read_shared(&s, path));
  assert_int_equal(errno, ENOENT);
  snprintf(path, sizeof path, "%s/file", dir);
  close(open(path, O_CREAT | O_WRONLY, 0600));
  assert_status(BT_E_IO, bt_metrics_open_shared(&m, path));
  assert_status(BT_E_IO, bt_snapshot_read_shared(&s, path));

  /* An empty directory merges to an empty snapshot. */
  snprintf(path, sizeof path, "%s/empty", dir);
  assert_int_equal(0, mkdir(path, 0700));
  s = read_dir(path);
  assert_int_equal(info_of(s).processes, 0);
  assert_status(BT_E_NOT_FOUND, bt_snapshot_get_skipped(&p, &r, s, 0));
  assert_status(BT_E_NULL, bt_snapshot_get_skipped(NULL, &r, s, 0));
  assert_status(BT_E_NULL, bt_snapshot_get_skipped(&p, NULL, s, 0));
  assert_status(BT_E_NULL, bt_snapshot_get_skipped(&p, &r, NULL, 0));
  bt_snapshot_free(s);
  remove_dir(dir);
}

/* ---- many processes ------------------------------------------------------- */

enum { kProcs = 8, kThreads = 4 };

/* Progress each writer thread publishes after each record returned BT_OK. */
struct progress {
  volatile uint64_t done[kProcs + kProcs][kThreads];
};

struct writer_arg {
  bt_metrics *m;
  volatile uint64_t *done;
  int records;
};

static void *writer_thread(void *p) {
  struct writer_arg *a = (struct writer_arg *)p;
  int i;
  for (i = 0; i < a->records || a->records < 0; i++) {
    record_one(a->m, "work");
    __atomic_store_n(a->done, *a->done + 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

static void run_writers(bt_metrics *m, volatile uint64_t *done, int records) {
  struct writer_arg args[kThreads];
  int t;
  for (t = 0; t < kThreads; t++) {
    args[t].m = m;
    args[t].done = &done[t];
    args[t].records = records;
  }
  bt_test_run_threads(kThreads, writer_thread, args, sizeof args[0]);
}

static uint64_t total_done(struct progress *pr) {
  uint64_t sum = 0;
  int i, t;
  for (i = 0; i < 2 * kProcs; i++)
    for (t = 0; t < kThreads; t++) sum += __atomic_load_n(&pr->done[i][t], __ATOMIC_ACQUIRE);
  return sum;
}

/* 8 processes x 4 threads into one directory: two of them fork a child of
 * their own, two run until killed with SIGKILL. The merge equals what every
 * thread saw succeed, plus at most one record in flight per killed thread. */
static void test_shared__processes_threads_forks_kills(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  struct progress *pr;
  pid_t pids[kProcs];
  int i, records = 2000 / bt_test_slowdown();
  bt_snapshot *s;
  uint64_t merged, done;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  pr = mmap(NULL, sizeof *pr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(pr != MAP_FAILED);
  memset((void *)pr, 0, sizeof *pr);
  for (i = 0; i < kProcs; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      pid_t grandchild = -1;
      if (i < 2) { /* a fork from a process that has recorded */
        record_one(m, "before_fork");
        __atomic_store_n(&pr->done[kProcs + i][0], 0, __ATOMIC_RELEASE);
        grandchild = fork();
        if (grandchild == 0) {
          run_writers(m, pr->done[kProcs + i], records);
          _exit(0);
        }
      }
      run_writers(m, pr->done[i], i >= kProcs - 2 ? -1 : records); /* the last two run until killed */
      if (grandchild > 0) waitpid(grandchild, NULL, 0);
      _exit(0);
    }
  }
  /* Kill the endless two once they have recorded a good deal. */
  for (i = kProcs - 2; i < kProcs; i++) {
    int t;
    for (;;) {
      uint64_t sum = 0;
      for (t = 0; t < kThreads; t++) sum += __atomic_load_n(&pr->done[i][t], __ATOMIC_ACQUIRE);
      if (sum >= (uint64_t)records) break;
      bt_test_sleep_ns(BT_TEST_MS);
    }
    assert_int_equal(0, kill(pids[i], SIGKILL));
  }
  for (i = 0; i < kProcs; i++) {
    int status = 0;
    assert_int_equal(pids[i], waitpid(pids[i], &status, 0));
    if (i < kProcs - 2) assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  s = read_dir(dir);
  merged = count_in(s, "work");
  done = total_done(pr);
  assert_u64_eq(count_in(s, "before_fork"), 2);
  assert_u64_ge(merged, done);
  assert_u64_le(merged, done + 2 * kThreads);
  for (i = 0; i < kProcs - 2; i++) { /* the ones not killed finished every record */
    int t;
    for (t = 0; t < kThreads; t++) assert_u64_eq(pr->done[i][t], records);
  }
  for (i = 0; i < 2; i++) {
    int t;
    for (t = 0; t < kThreads; t++) assert_u64_eq(pr->done[kProcs + i][t], records);
  }
  assert_whole(s);
  assert_int_equal(info_of(s).skipped, 0);
  /* the parent, 8 children, 2 grandchildren */
  assert_int_equal(info_of(s).processes, 1 + kProcs + 2);
  bt_snapshot_free(s);
  munmap((void *)pr, sizeof *pr);
  bt_metrics_free(m);
  remove_dir(dir);
}

/* Worker churn: 300 short-lived processes, one after another and four at a
 * time. Counts never go backwards in a reader that merges all along, the
 * final count is exact, and the directory holds the live slots and the
 * archive and lock file, whatever the restarts. */
/* More threads than writer slots (64): the later ones share slots, so the
 * slots' first threads, which recorded without the shard's lock, go over to
 * it while they record (owner_gate's bit 0). In a child, so the rest of this
 * process keeps single-writer slots. Every record counted once, whole. (A
 * functional test of the locked path: on two cores it did not catch the
 * lock left out for shared slots, whose lost counts need two threads of one
 * slot inside a record at once.) */
enum { kManyThreads = 80, kManyRecords = 5000 };

static void *many_writer(void *p) {
  bt_metrics *m = *(bt_metrics **)p;
  int i;
  for (i = 0; i < kManyRecords; i++) record_one(m, "many");
  return NULL;
}

static void test_shared__more_threads_than_slots(void **state) {
  char dir[64];
  pid_t pid;
  int status = 0;
  bt_snapshot *s;
  (void)state;
  make_dir(dir, sizeof dir);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    bt_metrics *m = NULL;
    bt_metrics *args[kManyThreads];
    int t;
    if (bt_metrics_open_shared(&m, dir) != BT_OK) _exit(2);
    for (t = 0; t < kManyThreads; t++) args[t] = m;
    bt_test_run_threads(kManyThreads, many_writer, args, sizeof args[0]);
    bt_metrics_free(m);
    _exit(0);
  }
  assert_int_equal(pid, waitpid(pid, &status, 0));
  assert_true(WIFEXITED(status));
  assert_int_equal(0, WEXITSTATUS(status));
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "many"), (uint64_t)kManyThreads * kManyRecords);
  assert_waits(s, "many", (uint64_t)kManyThreads * kManyRecords);
  assert_whole(s);
  bt_snapshot_free(s);
  remove_dir(dir);
}

static void test_shared__churn_keeps_counts_and_few_files(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  int i, rounds = 300 / bt_test_slowdown();
  uint64_t last = 0;
  bt_snapshot *s;
  size_t most_files = 0;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  for (i = 0; i < rounds; i += 4) {
    pid_t kids[4];
    int k;
    for (k = 0; k < 4; k++) {
      kids[k] = fork();
      if (kids[k] == 0) {
        int j;
        for (j = 0; j < 10; j++) record_one(m, "churn");
        _exit(0);
      }
    }
    {
      uint64_t now;
      s = read_dir(dir);
      now = count_in(s, "churn");
      assert_u64_ge(now, last); /* never backwards: no count lost by a fold */
      assert_u64_le(now, (uint64_t)(i + 4) * 10); /* never twice */
      last = now;
      bt_snapshot_free(s);
    }
    for (k = 0; k < 4; k++) waitpid(kids[k], NULL, 0);
    if (files_in(dir) > most_files) most_files = files_in(dir);
  }
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "churn"), (uint64_t)((rounds + 3) / 4 * 4) * 10);
  assert_int_equal(info_of(s).processes, 1 + (rounds + 3) / 4 * 4);
  bt_snapshot_free(s);
  /* this process and four children live at most, plus lock and archive */
  assert_true(most_files <= 1 + 4 + 2);
  bt_metrics_free(m);
  remove_dir(dir);
}

/* Readers in other processes merge while workers come and go: each reader's
 * counts only grow and never pass what was recorded. */
static void test_shared__concurrent_readers(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  pid_t readers[2];
  int i, rounds = 120 / bt_test_slowdown();
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  for (i = 0; i < 2; i++) {
    readers[i] = fork();
    if (readers[i] == 0) {
      uint64_t last = 0;
      int n;
      for (n = 0; n < 400; n++) {
        bt_snapshot *s = NULL;
        uint64_t now;
        if (bt_snapshot_read_shared(&s, dir) != BT_OK) _exit(2);
        now = count_in(s, "churn");
        bt_snapshot_free(s);
        if (now < last || now > (uint64_t)rounds * 5) _exit(3);
        last = now;
      }
      _exit(0);
    }
  }
  for (i = 0; i < rounds; i++) {
    pid_t kid = fork();
    if (kid == 0) {
      int j;
      for (j = 0; j < 5; j++) record_one(m, "churn");
      _exit(0);
    }
    waitpid(kid, NULL, 0);
  }
  for (i = 0; i < 2; i++) {
    int status = 0;
    waitpid(readers[i], &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  {
    bt_snapshot *s = read_dir(dir);
    assert_u64_eq(count_in(s, "churn"), (uint64_t)rounds * 5);
    bt_snapshot_free(s);
  }
  bt_metrics_free(m);
  remove_dir(dir);
}

/* Processes that met different names: together more than BT_MAX_OPS, which
 * bounds one process, not the archive. Nothing is lost in the folds. */
static void test_shared__archive_holds_more_than_max_ops(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  int k;
  bt_snapshot *s;
  size_t n = 0;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  for (k = 0; k < 4; k++) { /* each child folds the one before */
    pid_t kid = fork();
    if (kid == 0) {
      char name[32];
      int i;
      for (i = 0; i < 600; i++) {
        bt_timing t;
        snprintf(name, sizeof name, "p%d_op%d", k, i);
        t = bt_test_timing(name, 1000 + (uint64_t)i);
        if (bt_metrics_record(m, &t) != BT_OK || bt_metrics_record(m, &t) != BT_OK) _exit(1);
      }
      _exit(0);
    }
    {
      int status = 0;
      waitpid(kid, &status, 0);
      assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
  s = read_dir(dir);
  assert_status(BT_OK, bt_snapshot_op_count(&n, s));
  assert_int_equal(n, 4 * 600);
  assert_u64_eq(count_in(s, "p0_op0"), 2);
  assert_u64_eq(count_in(s, "p2_op599"), 2);
  assert_u64_eq(bt_test_phase_stats(s, "p1_op17", BT_PHASE_TOTAL).max_ns, 1017);
  assert_int_equal(info_of(s).processes, 1 + 4);
  bt_snapshot_free(s);
  bt_metrics_free(m);
  remove_dir(dir);
}

/* A reader merging while a writer's slot grows (every new operation takes
 * room; the file is extended in steps): the live slot is never skipped and
 * the counts only grow. */
static void test_shared__reader_meets_a_growing_slot(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  pid_t writer;
  int n, ops = 3000 / bt_test_slowdown();
  uint64_t last = 0;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "op0");
  writer = fork();
  if (writer == 0) {
    char name[32];
    int i;
    for (i = 1; i < ops; i++) {
      snprintf(name, sizeof name, "op%d", i % 1000);
      record_one(m, name);
    }
    _exit(0);
  }
  for (n = 0; n < 300; n++) {
    bt_snapshot *s = read_dir(dir);
    size_t count = 0, i;
    uint64_t total = 0;
    if (info_of(s).skipped) {
      const char *p = NULL, *r = NULL;
      bt_snapshot_get_skipped(&p, &r, s, 0);
      fail_msg("skipped %s: %s", p, r);
    }
    assert_status(BT_OK, bt_snapshot_op_count(&count, s));
    for (i = 0; i < count; i++) {
      bt_op_stats st = BT_OP_STATS_INIT;
      assert_status(BT_OK, bt_snapshot_op_stats(&st, s, i));
      total += st.count;
    }
    assert_u64_ge(total, last);
    last = total;
    bt_snapshot_free(s);
  }
  waitpid(writer, NULL, 0);
  bt_metrics_free(m);
  remove_dir(dir);
}

/* ---- damaged files ---------------------------------------------------------- */

/* The OTLP export of `s` (malloc'd, its size in *n). */
static char *otlp_of(const bt_snapshot *s, size_t *n) {
  char *buf;
  size_t again = 0;
  assert_status(BT_OK, bt_snapshot_export(NULL, 0, n, s, BT_FORMAT_OTLP_PROTOBUF));
  buf = malloc(*n + 1);
  assert_non_null(buf);
  assert_status(BT_OK, bt_snapshot_export(buf, *n + 1, &again, s, BT_FORMAT_OTLP_PROTOBUF));
  assert_int_equal(*n, again);
  return buf;
}

static int holds(const char *buf, size_t n, const char *text) { return memmem(buf, n, text, strlen(text)) != NULL; }

/* A merge holds many processes' figures: its OTLP resource names the
 * directory (canonical, however it was reached), never the reader's pid. */
static void test_shared__otlp_names_the_directory_not_a_pid(void **state) {
  char dir[256], link[300], real[PATH_MAX];
  bt_metrics *m = NULL, *heap = NULL;
  bt_snapshot *snaps[3];
  char *buf;
  size_t n;
  int i;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_non_null(realpath(dir, real));
  snprintf(link, sizeof link, "%s.link", dir);
  assert_int_equal(0, symlink(dir, link));
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "otlp.op");
  assert_status(BT_OK, bt_metrics_snapshot(&snaps[0], m)); /* the sink's own merge */
  snaps[1] = read_dir(dir);
  snaps[2] = read_dir(link);
  for (i = 0; i < 3; i++) {
    assert_int_equal(1, count_in(snaps[i], "otlp.op"));
    buf = otlp_of(snaps[i], &n);
    assert_true(holds(buf, n, "boundarytrace.shared_dir"));
    assert_true(holds(buf, n, real));
    assert_false(holds(buf, n, "process.pid"));
    assert_false(holds(buf, n, "link"));
    free(buf);
    bt_snapshot_free(snaps[i]);
  }
  /* one process's sink keeps its pid */
  assert_status(BT_OK, bt_metrics_new(&heap));
  record_one(heap, "otlp.op");
  assert_status(BT_OK, bt_metrics_snapshot(&snaps[0], heap));
  buf = otlp_of(snaps[0], &n);
  assert_true(holds(buf, n, "process.pid"));
  assert_false(holds(buf, n, "boundarytrace.shared_dir"));
  free(buf);
  bt_snapshot_free(snaps[0]);
  bt_metrics_free(heap);
  bt_metrics_free(m);
  assert_int_equal(0, unlink(link));
  remove_dir(dir);
}

static void *read_file(const char *path, size_t *n) {
  struct stat st;
  int fd = open(path, O_RDONLY);
  void *buf;
  assert_true(fd >= 0);
  assert_int_equal(0, fstat(fd, &st));
  buf = malloc((size_t)st.st_size);
  assert_non_null(buf);
  assert_int_equal((ssize_t)st.st_size, read(fd, buf, (size_t)st.st_size));
  close(fd);
  *n = (size_t)st.st_size;
  return buf;
}

static void write_file(const char *dir, const char *name, const void *buf, size_t n) {
  char path[512];
  int fd;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal((ssize_t)n, write(fd, buf, n));
  close(fd);
}

static int skipped_with(const bt_snapshot *s, const char *file, const char *reason_part) {
  bt_snapshot_info info = info_of(s);
  size_t i;
  for (i = 0; i < info.skipped; i++) {
    const char *p = NULL, *r = NULL;
    assert_status(BT_OK, bt_snapshot_get_skipped(&p, &r, s, i));
    if (strstr(p, file) && strstr(r, reason_part)) return 1;
  }
  return 0;
}

/* The slot file `m` writes in `dir` (slot-0.bt), copied; `m` is freed and the
 * file removed, so the directory holds only what the test writes next. */
static unsigned char *take_slot_copy(const char *dir, bt_metrics *m, size_t *n) {
  char path[512];
  unsigned char *copy;
  snprintf(path, sizeof path, "%s/slot-0.bt", dir);
  copy = read_file(path, n);
  bt_metrics_free(m);
  assert_int_equal(0, unlink(path));
  return copy;
}

/* Writes `copy` as slot-3.bt and merges the directory. */
static bt_snapshot *merge_forged(const char *dir, const unsigned char *copy, size_t n) {
  write_file(dir, "slot-3.bt", copy, n);
  return read_dir(dir);
}

/* A slot file whose header gives a start time no clock can mean (past
 * INT64_MAX): merged, with no known start (0), and no signed overflow
 * (found by the shared-file fuzzer; UBSan stopped the merge before). */
static void test_shared__start_time_past_int64_is_no_start(void **state) {
  static const uint64_t starts[] = {UINT64_C(1) << 63, UINT64_MAX - 1, UINT64_C(0x9100000000000000)};
  char dir[256];
  bt_metrics *m = NULL;
  bt_snapshot *s;
  unsigned char *copy;
  size_t n, i;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "kept");
  copy = take_slot_copy(dir, m, &n);
  for (i = 0; i < sizeof starts / sizeof starts[0]; i++) {
    memcpy(copy + 40, &starts[i], 8); /* FileHeader.unix_start_ns, after magic, versions, size, kind, incarnation, pid */
    s = merge_forged(dir, copy, n);
    assert_u64_eq(count_in(s, "kept"), 1);
    assert_int_equal(info_of(s).skipped, 0);
    assert_u64_eq(info_of(s).start_ns, 0);
    bt_snapshot_free(s);
  }
  free(copy);
  remove_dir(dir);
}

/* FileHeader fields the tests below forge (docs/formats.md, "The file
 * layout"): byte offsets from the start of a slot file. */
#define HDR_MINOR 12
#define HDR_PHASE_MASK 64
#define HDR_SHARD_MASK 120

static void *record_in_thread(void *m) {
  record_one((bt_metrics *)m, "two_threads");
  return NULL;
}

/* Format 1.1 lists the writer slots in use (shard_mask) and a merge reads
 * only theirs; a 1.0 file has no list (0) and every slot is read. One
 * process records from two threads, so its operation has shards in two
 * writer slots. */
static void test_shared__shard_mask_and_format_1_0(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  bt_snapshot *s;
  unsigned char *copy;
  size_t n;
  uint64_t mask;
  uint32_t minor;
  pthread_t th;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "two_threads");
  assert_int_equal(0, pthread_create(&th, NULL, record_in_thread, m));
  assert_int_equal(0, pthread_join(th, NULL));
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "two_threads"), 2);
  bt_snapshot_free(s);
  copy = take_slot_copy(dir, m, &n);
  memcpy(&minor, copy + HDR_MINOR, sizeof minor);
  memcpy(&mask, copy + HDR_SHARD_MASK, sizeof mask);
  assert_int_equal(minor, 1);
  assert_int_equal(__builtin_popcountll(mask), 2);

  /* 1.1: only the slots listed. */
  mask &= mask - 1; /* the lowest slot unlisted */
  memcpy(copy + HDR_SHARD_MASK, &mask, sizeof mask);
  s = merge_forged(dir, copy, n);
  assert_u64_eq(count_in(s, "two_threads"), 1);
  bt_snapshot_free(s);

  /* 1.0: no list, every slot. */
  minor = 0;
  mask = 0;
  memcpy(copy + HDR_MINOR, &minor, sizeof minor);
  memcpy(copy + HDR_SHARD_MASK, &mask, sizeof mask);
  s = merge_forged(dir, copy, n);
  assert_u64_eq(count_in(s, "two_threads"), 2);
  assert_int_equal(info_of(s).skipped, 0);
  assert_whole(s);
  bt_snapshot_free(s);
  free(copy);
  remove_dir(dir);
}

/* A merge that began before a live writer named a new phase, and reads the
 * phase's figures added since: they are left out, as any record made after
 * the merge began, and the rest of the file is merged. (It was skipped
 * whole as "corrupted (a phase without a name)".) Forged by clearing the
 * phase's bit in the header's phase_mask. */
static void test_shared__phase_named_after_the_merge_began(void **state) {
  char dir[256];
  bt_metrics *m = NULL;
  bt_snapshot *s;
  unsigned char *copy;
  size_t n;
  uint64_t mask;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "kept");
  copy = take_slot_copy(dir, m, &n);
  memcpy(&mask, copy + HDR_PHASE_MASK, sizeof mask);
  assert_true(mask & (UINT64_C(1) << BT_PHASE_CONVERT));
  mask &= ~(UINT64_C(1) << BT_PHASE_CONVERT);
  memcpy(copy + HDR_PHASE_MASK, &mask, sizeof mask);
  s = merge_forged(dir, copy, n);
  assert_int_equal(info_of(s).skipped, 0);
  assert_u64_eq(count_in(s, "kept"), 1);
  assert_u64_eq(bt_test_phase_stats(s, "kept", BT_PHASE_CONVERT).count, 0);
  assert_waits(s, "kept", 1);
  assert_whole(s);
  bt_snapshot_free(s);
  free(copy);
  remove_dir(dir);
}

/* Truncated, foreign, newer and corrupted slot files, and a link: each is
 * skipped with its reason, the rest is merged, and a new writer leaves them. */
static void test_shared__damaged_files_are_skipped(void **state) {
  char dir[256], path[512], link_target[512];
  bt_metrics *m = NULL;
  bt_snapshot *s;
  void *good;
  size_t n;
  pid_t kid;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  record_one(m, "kept");
  kid = fork();
  if (kid == 0) {
    record_one(m, "kept");
    _exit(0);
  }
  waitpid(kid, NULL, 0);
  snprintf(path, sizeof path, "%s/slot-0.bt", dir);
  good = read_file(path, &n);
  assert_true(n > 20000);

  write_file(dir, "slot-7.bt", good, 100);        /* truncated in the header */
  write_file(dir, "slot-8.bt", "hello, world\n", 13); /* foreign */
  {
    unsigned char *copy = malloc(n);
    uint32_t version[2] = {2, 0};
    uint64_t huge = UINT64_C(1) << 40;
    memcpy(copy, good, n);
    memcpy(copy + 8, version, sizeof version); /* FileHeader.major, minor */
    write_file(dir, "slot-9.bt", copy, n);
    memcpy(copy, good, n);
    /* the first operation's offset: FileHeader.op_off[0] is the last 8 KiB of the header */
    {
      uint32_t header_size;
      memcpy(&header_size, copy + 16, sizeof header_size); /* FileHeader.header_size */
      assert_true(header_size > 8192 && header_size < n);
      memcpy(copy + header_size - 8192, &huge, 8); /* op_off[0]: the header ends with BT_MAX_OPS offsets */
    }
    write_file(dir, "slot-10.bt", copy, n);
    free(copy);
  }
  snprintf(link_target, sizeof link_target, "%s/slot-0.bt", dir);
  snprintf(path, sizeof path, "%s/slot-11.bt", dir);
  assert_int_equal(0, symlink(link_target, path));

  s = read_dir(dir);
  assert_u64_eq(count_in(s, "kept"), 2);
  assert_int_equal(info_of(s).skipped, 5);
  assert_true(skipped_with(s, "slot-7.bt", "truncated"));
  assert_true(skipped_with(s, "slot-8.bt", "not a boundarytrace shared file"));
  assert_true(skipped_with(s, "slot-9.bt", "newer"));
  assert_true(skipped_with(s, "slot-10.bt", "corrupted"));
  assert_true(skipped_with(s, "slot-11.bt", "symbolic link"));
  {
    size_t need = 0;
    char *json;
    assert_status(BT_OK, bt_snapshot_export(NULL, 0, &need, s, BT_FORMAT_JSON));
    json = malloc(need + 1);
    assert_non_null(json);
    assert_status(BT_OK, bt_snapshot_export(json, need + 1, &need, s, BT_FORMAT_JSON));
    assert_non_null(strstr(json, "slot-9.bt\",\"reason\":\"written in format 2.0, newer"));
    free(json);
  }
  bt_snapshot_free(s);

  /* A new process leaves every damaged file where it is. */
  kid = fork();
  if (kid == 0) {
    record_one(m, "kept");
    _exit(0);
  }
  waitpid(kid, NULL, 0);
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "kept"), 3);
  assert_int_equal(info_of(s).skipped, 5);
  bt_snapshot_free(s);
  free(good);
  bt_metrics_free(m);
  remove_dir(dir);
}

/* A file system that refuses to grow the slot (RLIMIT_FSIZE stands in for a
 * full tmpfs): records fail with BT_E_NOMEM, never a crash or SIGBUS, and
 * every snapshot counts them as dropped. */
static void test_shared__full_file_system_drops_and_counts(void **state) {
  char dir[256];
  pid_t kid;
  int status = 0;
  (void)state;
  make_dir(dir, sizeof dir);
  kid = fork();
  if (kid == 0) {
    struct rlimit lim = {64 * 1024, 64 * 1024};
    bt_metrics *m = NULL;
    int i, failed = 0, ok = 0;
    char name[32];
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(10);
    if (bt_metrics_open_shared(&m, dir) != BT_OK) _exit(11);
    for (i = 0; i < 200; i++) {
      bt_timing t;
      bt_status st;
      snprintf(name, sizeof name, "op%d", i);
      t = bt_test_timing(name, 1000);
      st = bt_metrics_record(m, &t);
      if (st == BT_E_NOMEM) failed++;
      else if (st == BT_OK) ok++;
      else _exit(12);
    }
    if (failed == 0 || ok == 0) _exit(13);
    {
      bt_snapshot *s = NULL;
      bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
      if (bt_metrics_snapshot(&s, m) != BT_OK) _exit(14);
      bt_snapshot_get_info(&info, s);
      if (info.dropped != (uint64_t)failed) _exit(15);
      bt_snapshot_free(s);
    }
    _exit(0);
  }
  assert_int_equal(kid, waitpid(kid, &status, 0));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  {
    bt_snapshot *s = read_dir(dir);
    char buf[16384], want[64], *json;
    size_t need = 0;
    assert_true(info_of(s).dropped > 0);
    assert_whole(s);
    /* Every rendering says so: the text report and the JSON. */
    assert_status(BT_OK, bt_snapshot_format(buf, sizeof buf, &need, s));
    snprintf(want, sizeof want, "%llu records dropped", (unsigned long long)info_of(s).dropped);
    assert_non_null(strstr(buf, want));
    assert_status(BT_OK, bt_snapshot_export(NULL, 0, &need, s, BT_FORMAT_JSON));
    json = malloc(need + 1);
    assert_non_null(json);
    assert_status(BT_OK, bt_snapshot_export(json, need + 1, &need, s, BT_FORMAT_JSON));
    snprintf(want, sizeof want, "\"dropped\":%llu,", (unsigned long long)info_of(s).dropped);
    assert_non_null(strstr(json, want));
    assert_non_null(strstr(json, "\"processes\":1,"));
    free(json);
    bt_snapshot_free(s);
  }
  remove_dir(dir);
}

/* ---- the flight recorder ------------------------------------------------------- */

static char *flight_of(const char *dir, int64_t pid, bt_status *st) {
  size_t needed = 0;
  char *buf;
  *st = bt_timeline_export_shared(NULL, 0, &needed, dir, pid);
  if (*st != BT_OK) return NULL;
  buf = malloc(needed + 1);
  assert_non_null(buf);
  assert_status(BT_OK, bt_timeline_export_shared(buf, needed + 1, &needed, dir, pid));
  return buf;
}

/* A worker killed with SIGKILL while recording leaves its last operations
 * in its slot; when the next process takes the slot over, they are kept
 * aside (flight-<pid>.bt), and the newest four such files only. */
static void test_shared__flight_recorder_outlives_a_kill(void **state) {
  char dir[256], name[512];
  bt_metrics *m = NULL;
  struct progress *pr;
  pid_t kid;
  int i;
  bt_status st;
  char *json;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_status(BT_OK, bt_metrics_open_shared(&m, dir));
  assert_status(BT_OK, bt_timeline_start(64));
  pr = mmap(NULL, sizeof *pr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(pr != MAP_FAILED);
  memset((void *)pr, 0, sizeof *pr);
  kid = fork();
  if (kid == 0) {
    record_one(m, "last_words");
    run_writers(m, pr->done[0], -1); /* "work" until killed */
    _exit(0);
  }
  while (total_done(pr) < 2000) bt_test_sleep_ns(BT_TEST_MS);
  assert_int_equal(0, kill(kid, SIGKILL));
  waitpid(kid, NULL, 0);

  json = flight_of(dir, kid, &st);
  assert_status(BT_OK, st);
  assert_non_null(strstr(json, "\"name\":\"work\""));
  assert_non_null(strstr(json, "\"name\":\"convert\""));
  snprintf(name, sizeof name, "\"pid\":%d", (int)kid);
  assert_non_null(strstr(json, name));
  assert_null(strstr(json, "last_words")); /* the oldest were overwritten */
  assert_non_null(strstr(json, "\"name\":\"boundarytrace: test_shared\"")); /* the dead process's name */
  free(json);

  /* Taken over: the recorder moves aside, the figures into the archive. */
  {
    pid_t next = fork();
    if (next == 0) {
      record_one(m, "next");
      _exit(0);
    }
    waitpid(next, NULL, 0);
  }
  snprintf(name, sizeof name, "%s/flight-%d.bt", dir, (int)kid);
  assert_int_equal(0, access(name, F_OK));
  json = flight_of(dir, kid, &st);
  assert_status(BT_OK, st);
  assert_non_null(strstr(json, "\"name\":\"work\""));
  free(json);
  {
    bt_snapshot *s = read_dir(dir);
    assert_u64_ge(count_in(s, "work"), total_done(pr));
    assert_u64_le(count_in(s, "work"), total_done(pr) + kThreads);
    bt_snapshot_free(s);
  }

  /* Ten more processes that recorded: four flight files stay. */
  for (i = 0; i < 10; i++) {
    pid_t k = fork();
    if (k == 0) {
      record_one(m, "more");
      _exit(0);
    }
    waitpid(k, NULL, 0);
  }
  {
    size_t flights = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) flights += strncmp(e->d_name, "flight-", 7) == 0;
    closedir(d);
    assert_int_equal(flights, 4);
  }
  json = flight_of(dir, 999999999, &st);
  assert_status(BT_E_NOT_FOUND, st);
  assert_null(json);
  {
    size_t needed = 0;
    assert_status(BT_E_INVALID, bt_timeline_export_shared(NULL, 0, &needed, dir, 0));
    assert_status(BT_E_INVALID, bt_timeline_export_shared(NULL, 0, &needed, "", 1));
    assert_status(BT_E_NULL, bt_timeline_export_shared(NULL, 0, NULL, dir, 1));
    assert_status(BT_E_NULL, bt_timeline_export_shared(NULL, 0, &needed, NULL, 1));
  }
  assert_status(BT_OK, bt_timeline_stop());
  munmap((void *)pr, sizeof *pr);
  bt_metrics_free(m);
  remove_dir(dir);
}

/* ---- the environment variable ------------------------------------------------ */

static int run_self(const char *mode, const char *dir, char *err, size_t cap) {
  int pipefd[2];
  pid_t kid;
  int status = 0;
  ssize_t got;
  assert_int_equal(0, pipe(pipefd));
  kid = fork();
  if (kid == 0) {
    dup2(pipefd[1], 2);
    setenv("BOUNDARYTRACE_SHARED_DIR", dir, 1);
    execl(g_self, g_self, mode, (char *)NULL);
    _exit(127);
  }
  close(pipefd[1]);
  got = read(pipefd[0], err, cap - 1);
  err[got > 0 ? got : 0] = '\0';
  close(pipefd[0]);
  waitpid(kid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run with BOUNDARYTRACE_SHARED_DIR set: records into the global sink. */
static int env_child(void) {
  int i;
  for (i = 0; i < 42; i++) record_one(NULL, "from_env");
  return 0;
}

static void test_shared__environment_variable(void **state) {
  char dir[256], err[1024];
  bt_snapshot *s;
  (void)state;
  make_dir(dir, sizeof dir);
  assert_int_equal(0, run_self("--env-child", dir, err, sizeof err));
  assert_int_equal(0, run_self("--env-child", dir, err, sizeof err));
  assert_string_equal(err, "");
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "from_env"), 84);
  assert_int_equal(info_of(s).processes, 2);
  bt_snapshot_free(s);
  /* An unsafe directory: one message, the figures stay in the process. */
  assert_int_equal(0, chmod(dir, 0777));
  assert_int_equal(0, run_self("--env-child", dir, err, sizeof err));
  assert_non_null(strstr(err, "BOUNDARYTRACE_SHARED_DIR"));
  assert_non_null(strstr(err, "not writable by group or others"));
  assert_int_equal(0, chmod(dir, 0700));
  s = read_dir(dir);
  assert_u64_eq(count_in(s, "from_env"), 84);
  bt_snapshot_free(s);
  remove_dir(dir);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared__records_and_merges),
      cmocka_unit_test(test_shared__bad_input),
      cmocka_unit_test(test_shared__processes_threads_forks_kills),
      cmocka_unit_test(test_shared__more_threads_than_slots),
      cmocka_unit_test(test_shared__churn_keeps_counts_and_few_files),
      cmocka_unit_test(test_shared__concurrent_readers),
      cmocka_unit_test(test_shared__reader_meets_a_growing_slot),
      cmocka_unit_test(test_shared__archive_holds_more_than_max_ops),
      cmocka_unit_test(test_shared__damaged_files_are_skipped),
      cmocka_unit_test(test_shared__shard_mask_and_format_1_0),
      cmocka_unit_test(test_shared__phase_named_after_the_merge_began),
      cmocka_unit_test(test_shared__start_time_past_int64_is_no_start),
      cmocka_unit_test(test_shared__full_file_system_drops_and_counts),
      cmocka_unit_test(test_shared__flight_recorder_outlives_a_kill),
      cmocka_unit_test(test_shared__environment_variable),
      cmocka_unit_test(test_shared__otlp_names_the_directory_not_a_pid),
  };
  ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
  if (n <= 0) return 1;
  g_self[n] = '\0';
  if (argc > 1 && strcmp(argv[1], "--env-child") == 0) return env_child();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
