/*
 * Crash windows of the shared sink, widened by a test hook of the
 * libboundarytrace_allochook build: a process that dies after folding dead
 * slots into the archive but before emptying them must not make them count
 * twice, for readers nor for the next process that opens the directory.
 */
#include "bt_test.h"

#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

void bt_testing_shared_exit_after_archive(int code);

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static uint64_t merged(const char *dir, const char *op) {
  bt_snapshot *s = NULL;
  bt_op_stats st = BT_OP_STATS_INIT;
  uint64_t n = 0;
  assert_status(BT_OK, bt_snapshot_read_shared(&s, dir));
  if (bt_test_find_op(s, op, &st)) n = st.count;
  bt_snapshot_free(s);
  return n;
}

/* A child opens the directory, records `n` operations and exits with the
 * code the hook gives it (`hook`), or 0. */
static int child(const char *dir, int n, int hook) {
  pid_t kid = fork();
  int status = 0;
  if (kid == 0) {
    bt_metrics *m = NULL;
    int i;
    bt_testing_shared_exit_after_archive(hook);
    if (bt_metrics_open_shared(&m, dir) != BT_OK) _exit(1);
    for (i = 0; i < n; i++) {
      bt_timing t = bt_test_timing("x", 1000);
      if (bt_metrics_record(m, &t) != BT_OK) _exit(2);
    }
    _exit(0);
  }
  waitpid(kid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_shared_crash__fold_then_die(void **state) {
  char dir[] = "/tmp/bt-shared-crash-XXXXXX";
  (void)state;
  assert_non_null(mkdtemp(dir));
  assert_int_equal(0, child(dir, 10, 0));  /* leaves a dead slot holding 10 */
  assert_int_equal(77, child(dir, 0, 77)); /* folds it, then dies before emptying it */
  assert_u64_eq(merged(dir, "x"), 10);     /* in the archive and in its file: once */
  assert_int_equal(0, child(dir, 1, 0));   /* reuses the slot without folding it again */
  assert_u64_eq(merged(dir, "x"), 11);
  assert_int_equal(0, child(dir, 1, 0));
  assert_u64_eq(merged(dir, "x"), 12);
  nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared_crash__fold_then_die),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
