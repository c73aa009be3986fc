/* BOUNDARYTRACE_DUMP at process end: written on exit() and on a return from
 * main, never by a forked child (whether it calls exit() or _exit()). Runs
 * exit_dump_child (argv[1]) with the variable set. */
#include "bt_test.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *g_child;

static int run_child(const char *mode, const char *dump) {
  char env_dump[512];
  char *argv[3];
  char *envp[2];
  pid_t pid;
  int status = 0;
  snprintf(env_dump, sizeof env_dump, "BOUNDARYTRACE_DUMP=%s", dump);
  argv[0] = (char *)g_child;
  argv[1] = (char *)mode;
  argv[2] = NULL;
  envp[0] = env_dump;
  envp[1] = NULL;
  assert_int_equal(posix_spawn(&pid, g_child, NULL, NULL, argv, envp), 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

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

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_dump__written_on_exit),
      cmocka_unit_test(test_exit_dump__written_on_return_from_main),
      cmocka_unit_test(test_exit_dump__exit_while_threads_trace),
      cmocka_unit_test(test_exit_dump__forked_child_calling_exit_does_not_dump),
      cmocka_unit_test(test_exit_dump__forked_child_calling__exit_does_not_dump),
  };
  if (argc < 2) {
    fprintf(stderr, "usage: %s path/to/exit_dump_child\n", argv[0]);
    return 2;
  }
  g_child = argv[1];
  return cmocka_run_group_tests_name("exit_dump", tests, NULL, NULL);
}
