/* BOUNDARYTRACE_DUMP at process end: written on exit() and on a return from
 * main, never by a forked child (whether it calls exit() or _exit()). Runs
 * exit_dump_child (argv[1]) with the variable set. */
#include "bt_test.h"

#include <dirent.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *g_child;

/* Runs the child in `mode` with BOUNDARYTRACE_DUMP=dump, and
 * BOUNDARYTRACE_TIMELINE=timeline unless NULL; its exit code. *pid_out (if
 * given) gets its pid. */
static int run_child_with(const char *mode, const char *dump, const char *timeline, pid_t *pid_out) {
  char env_dump[512], env_timeline[512];
  char *argv[3];
  char *envp[3];
  pid_t pid;
  int status = 0;
  snprintf(env_dump, sizeof env_dump, "BOUNDARYTRACE_DUMP=%s", dump);
  snprintf(env_timeline, sizeof env_timeline, "BOUNDARYTRACE_TIMELINE=%s", timeline ? timeline : "");
  argv[0] = (char *)g_child;
  argv[1] = (char *)mode;
  argv[2] = NULL;
  envp[0] = env_dump;
  envp[1] = timeline ? env_timeline : NULL;
  envp[2] = NULL;
  assert_int_equal(posix_spawn(&pid, g_child, NULL, NULL, argv, envp), 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  if (pid_out) *pid_out = pid;
  return WEXITSTATUS(status);
}

static int run_child(const char *mode, const char *dump) { return run_child_with(mode, dump, NULL, NULL); }

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "r");
  static char buf[65536];
  size_t n;
  if (!fp) return NULL;
  n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static void dump_written(const char *mode) {
  char dir[] = "/tmp/bt_exit_XXXXXX", path[256];
  char *text;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/dump.json", dir);
  assert_int_equal(run_child(mode, path), 0);
  text = slurp(path);
  assert_non_null(text);
  assert_non_null(strstr(text, "\"name\":\"parent_op\",\"count\":1,"));
  unlink(path);
  rmdir(dir);
}

static void test_exit_dump__written_on_exit(void **state) {
  (void)state;
  dump_written("exit");
}

/* exit() while three threads trace (new names among them) and one takes and
 * exports: the process ends cleanly, the dump is written, every time. Before
 * the library kept its process-wide objects alive at exit when other threads
 * run, this was a use after free (ASan: heap-use-after-free in the child). */
static void test_exit_dump__exit_while_threads_trace(void **state) {
  char dir[] = "/tmp/bt_exit_XXXXXX", path[256];
  int round;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/dump.json", dir);
  for (round = 0; round < 10; round++) {
    char *text;
    assert_int_equal(run_child("exit_busy", path), 0);
    text = slurp(path);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"name\":\"parent_op\",\"count\":1,"));
    assert_non_null(strstr(text, "\"name\":\"busy_op\""));
    unlink(path);
  }
  rmdir(dir);
}

static void test_exit_dump__written_on_return_from_main(void **state) {
  (void)state;
  dump_written("return");
}

static void no_dump_from_child(const char *mode) {
  char dir[] = "/tmp/bt_exit_XXXXXX", path[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/dump.json", dir);
  assert_int_equal(run_child(mode, path), 0); /* 3 would mean the child dumped */
  assert_int_equal(access(path, F_OK), -1);
  rmdir(dir);
}

static void test_exit_dump__forked_child_calling_exit_does_not_dump(void **state) {
  (void)state;
  no_dump_from_child("fork_exit");
}

static void test_exit_dump__forked_child_calling__exit_does_not_dump(void **state) {
  (void)state;
  no_dump_from_child("fork__exit");
}

/* %p in BOUNDARYTRACE_DUMP and BOUNDARYTRACE_TIMELINE is the writing
 * process's pid: a parent that forks three children which record an
 * operation each and exit leaves four dumps (and four timelines), each named
 * with its pid and holding that process's operation (a child starts with its
 * parent's figures, so parent_op is in every one). Before, the name was
 * taken literally and only the parent wrote it. */
static void test_exit_dump__percent_p_gives_each_process_its_file(void **state) {
  char dir[] = "/tmp/bt_exit_XXXXXX", dump[256], timeline[256], path[512];
  pid_t parent = 0;
  DIR *d;
  struct dirent *e;
  int dumps = 0, timelines = 0, children = 0;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(dump, sizeof dump, "%s/dump-%%p.json", dir);
  snprintf(timeline, sizeof timeline, "%s/trace-%%p.json", dir);
  assert_int_equal(run_child_with("fork3", dump, timeline, &parent), 0);
  d = opendir(dir);
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    long pid = 0;
    char tail[16] = "";
    char *text;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (sscanf(e->d_name, "trace-%ld%15s", &pid, tail) == 2 && strcmp(tail, ".json") == 0) {
      timelines++;
      unlink(path);
      continue;
    }
    if (sscanf(e->d_name, "dump-%ld%15s", &pid, tail) != 2 || strcmp(tail, ".json") != 0)
      fail_msg("unexpected file %s", e->d_name);
    dumps++;
    text = slurp(path);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"name\":\"parent_op\",\"count\":1,"));
    if (pid == (long)parent) {
      assert_int_equal(bt_test_count_of(text, "\"name\":\"child_"), 0);
    } else {
      char own[64];
      snprintf(own, sizeof own, "\"name\":\"child_%ld\",\"count\":1,", pid);
      if (!strstr(text, own)) fail_msg("%s does not hold child_%ld", e->d_name, pid);
      assert_int_equal(bt_test_count_of(text, "\"name\":\"child_"), 1);
      children++;
    }
    unlink(path);
  }
  closedir(d);
  assert_int_equal(dumps, 4);
  assert_int_equal(children, 3);
  assert_int_equal(timelines, 4);
  rmdir(dir);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_dump__written_on_exit),
      cmocka_unit_test(test_exit_dump__written_on_return_from_main),
      cmocka_unit_test(test_exit_dump__exit_while_threads_trace),
      cmocka_unit_test(test_exit_dump__forked_child_calling_exit_does_not_dump),
      cmocka_unit_test(test_exit_dump__forked_child_calling__exit_does_not_dump),
      cmocka_unit_test(test_exit_dump__percent_p_gives_each_process_its_file),
  };
  if (argc < 2) {
    fprintf(stderr, "usage: %s path/to/exit_dump_child\n", argv[0]);
    return 2;
  }
  g_child = argv[1];
  return cmocka_run_group_tests_name("exit_dump", tests, NULL, NULL);
}
