/* Odd values of the environment variables the library reads at load
 * (BOUNDARYTRACE_DISABLE, _CLOCK, _TIMELINE_CAPACITY, _DUMP, _TIMELINE): each
 * gets exactly one message on stderr naming the variable, the value and what
 * is used instead; good values get none. Runs exit_dump_child (argv[1]), which
 * records one operation and returns from main, with stderr to a file. */
#include "bt_test.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *g_child;
static char g_dir[] = "/tmp/bt_env_XXXXXX";

static char *slurp(const char *path) {
  static char buf[65536];
  FILE *fp = fopen(path, "r");
  size_t n;
  if (!fp) return NULL;
  n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

/* Runs the child in `mode` with exactly the variables in `env`
 * (NULL-terminated); returns its stderr (static storage). */
static char *run_child_mode(const char *const *env, const char *mode) {
  char err_path[256];
  char *argv[3];
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int status = 0;
  snprintf(err_path, sizeof err_path, "%s/stderr.txt", g_dir);
  argv[0] = (char *)g_child;
  argv[1] = (char *)mode;
  argv[2] = NULL;
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
  assert_int_equal(posix_spawn(&pid, g_child, &fa, NULL, argv, (char *const *)env), 0);
  posix_spawn_file_actions_destroy(&fa);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  return slurp(err_path);
}

static char *run_child(const char *const *env) { return run_child_mode(env, "return"); }

/* The library's lines in `err` ("boundarytrace: ..."), counted; the first
 * one is copied to `first`. */
static int library_lines(const char *err, char *first, size_t cap) {
  int n = 0;
  const char *line = err;
  first[0] = '\0';
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (strncmp(line, "boundarytrace: ", 15) == 0) {
      if (n++ == 0) snprintf(first, cap, "%.*s", (int)len, line);
    }
    line += len + (end != NULL);
  }
  return n;
}

/* One message: it names `variable`="value" and contains `instead`. */
static void expect_one_message(const char *const *env, const char *variable, const char *value,
                               const char *instead) {
  char first[1024], named[512];
  const char *err = run_child(env);
  int n;
  assert_non_null(err);
  n = library_lines(err, first, sizeof first);
  if (n != 1) fail_msg("%d messages for %s=%s, want 1; stderr:\n%s", n, variable, value, err);
  snprintf(named, sizeof named, "%s=\"%s\"", variable, value);
  if (!strstr(first, named)) fail_msg("the message does not name %s: %s", named, first);
  if (!strstr(first, instead)) fail_msg("the message does not say \"%s\": %s", instead, first);
}

static void expect_no_message(const char *const *env) {
  char first[1024];
  const char *err = run_child(env);
  assert_non_null(err);
  if (library_lines(err, first, sizeof first) != 0) fail_msg("unexpected message: %s", first);
}

static void test_env_values__disable(void **state) {
  const char *bogus[] = {"BOUNDARYTRACE_DISABLE=bogus", NULL};
  const char *two[] = {"BOUNDARYTRACE_DISABLE=2", NULL};
  const char *good[] = {"BOUNDARYTRACE_DISABLE=off", NULL};
  const char *good2[] = {"BOUNDARYTRACE_DISABLE=YES", NULL};
  const char *empty[] = {"BOUNDARYTRACE_DISABLE=", NULL};
  (void)state;
  expect_one_message(bogus, "BOUNDARYTRACE_DISABLE", "bogus", "recording stays on");
  expect_one_message(two, "BOUNDARYTRACE_DISABLE", "2", "recording stays on");
  expect_no_message(good);
  expect_no_message(good2);
  expect_no_message(empty);
}

static void test_env_values__clock(void **state) {
  const char *bogus[] = {"BOUNDARYTRACE_CLOCK=bogus", NULL};
  const char *good[] = {"BOUNDARYTRACE_CLOCK=monotonic", NULL};
  const char *good2[] = {"BOUNDARYTRACE_CLOCK=auto", NULL};
  (void)state;
  expect_one_message(bogus, "BOUNDARYTRACE_CLOCK", "bogus", "; using ");
  expect_no_message(good);
  expect_no_message(good2);
}

static void capacity_refused(const char *value) {
  char timeline[256], var[128];
  const char *env[3];
  const char *text;
  snprintf(timeline, sizeof timeline, "BOUNDARYTRACE_TIMELINE=%s/t.json", g_dir);
  snprintf(var, sizeof var, "BOUNDARYTRACE_TIMELINE_CAPACITY=%s", value);
  env[0] = timeline;
  env[1] = var;
  env[2] = NULL;
  expect_one_message(env, "BOUNDARYTRACE_TIMELINE_CAPACITY", value, "using 10000");
  text = slurp(timeline + strlen("BOUNDARYTRACE_TIMELINE="));
  assert_non_null(text);
  assert_non_null(strstr(text, "\"capacity\":10000}"));
}

static void test_env_values__timeline_capacity(void **state) {
  char timeline[256];
  const char *alone[] = {"BOUNDARYTRACE_TIMELINE_CAPACITY=500", NULL};
  const char *good[3];
  const char *text;
  (void)state;
  capacity_refused("-18446744073709551615"); /* strtoull took it for 1 */
  capacity_refused("-1");
  capacity_refused("+5");
  capacity_refused(" 5");
  capacity_refused("0");
  capacity_refused("16777217");
  capacity_refused("99999999999999999999999");
  capacity_refused("12abc");
  expect_one_message(alone, "BOUNDARYTRACE_TIMELINE_CAPACITY", "500", "without BOUNDARYTRACE_TIMELINE");
  snprintf(timeline, sizeof timeline, "BOUNDARYTRACE_TIMELINE=%s/t.json", g_dir);
  good[0] = timeline;
  good[1] = "BOUNDARYTRACE_TIMELINE_CAPACITY=16777216";
  good[2] = NULL;
  expect_no_message(good);
  text = slurp(timeline + strlen("BOUNDARYTRACE_TIMELINE="));
  assert_non_null(text);
  assert_non_null(strstr(text, "\"capacity\":16777216}"));
}

static void test_env_values__file_targets(void **state) {
  char dump[256], timeline[256], value[256], same_dump[256], same_timeline[256];
  const char *env[3];
  const char *text;
  (void)state;
  /* a directory: said once, at load, and nothing is tried at exit */
  snprintf(dump, sizeof dump, "BOUNDARYTRACE_DUMP=%s", g_dir);
  env[0] = dump;
  env[1] = NULL;
  expect_one_message(env, "BOUNDARYTRACE_DUMP", g_dir, "no snapshot is written");
  snprintf(timeline, sizeof timeline, "BOUNDARYTRACE_TIMELINE=%s/", g_dir);
  snprintf(value, sizeof value, "%s/", g_dir);
  env[0] = timeline;
  expect_one_message(env, "BOUNDARYTRACE_TIMELINE", value, "no timeline is kept");
  /* both naming one file: the snapshot wins, the timeline is not kept */
  snprintf(same_dump, sizeof same_dump, "BOUNDARYTRACE_DUMP=%s/same.json", g_dir);
  snprintf(same_timeline, sizeof same_timeline, "BOUNDARYTRACE_TIMELINE=%s/./same.json", g_dir);
  snprintf(value, sizeof value, "%s/./same.json", g_dir);
  env[0] = same_dump;
  env[1] = same_timeline;
  env[2] = NULL;
  expect_one_message(env, "BOUNDARYTRACE_TIMELINE", value, "no timeline is kept");
  text = slurp(same_dump + strlen("BOUNDARYTRACE_DUMP="));
  assert_non_null(text);
  assert_non_null(strstr(text, "\"schema\":\"boundarytrace.snapshot\""));
  unlink(same_dump + strlen("BOUNDARYTRACE_DUMP="));
}

/* A link as BOUNDARYTRACE_DUMP is refused at load (it was replaced by a
 * regular file at exit); a FIFO put there after load is refused at exit,
 * said once with the reason (it was replaced). Both are left as they are. */
static void test_env_values__link_or_fifo_target_is_refused(void **state) {
  char dump[512], path[256], victim[256], first[1024];
  const char *env[2];
  const char *err, *text;
  struct stat st;
  int fd;
  (void)state;
  snprintf(path, sizeof path, "%s/link.json", g_dir);
  snprintf(victim, sizeof victim, "%s/victim", g_dir);
  fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "victim\n", 7), 7);
  close(fd);
  assert_int_equal(symlink(victim, path), 0);
  snprintf(dump, sizeof dump, "BOUNDARYTRACE_DUMP=%s", path);
  env[0] = dump;
  env[1] = NULL;
  expect_one_message(env, "BOUNDARYTRACE_DUMP", path, "is a symbolic link (not followed); no snapshot is written");
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  text = slurp(victim);
  assert_non_null(text);
  assert_string_equal(text, "victim\n");
  unlink(path);
  unlink(victim);

  snprintf(path, sizeof path, "%s/fifo.json", g_dir);
  snprintf(dump, sizeof dump, "BOUNDARYTRACE_DUMP=%s", path);
  err = run_child_mode(env, "mkfifo");
  assert_non_null(err);
  if (library_lines(err, first, sizeof first) != 1 || !strstr(first, "could not write BOUNDARYTRACE_DUMP=") ||
      !strstr(first, "fifo.json: is not a regular file")) {
    fail_msg("want one line saying the FIFO is not a regular file; stderr:\n%s", err);
  }
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  unlink(path);
}

/* In BOUNDARYTRACE_DUMP and _TIMELINE, %p is the pid and %% a %; any other
 * % is refused at load (it was taken literally), and nothing is written. */
static void test_env_values__percent_in_file_targets(void **state) {
  static const char *const bad[] = {"d-%d.json", "d-%.json", "d%", "d-%P.json"};
  char var[512], value[256], literal[256];
  const char *env[2];
  size_t i;
  (void)state;
  env[1] = NULL;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(value, sizeof value, "%s/%s", g_dir, bad[i]);
    snprintf(var, sizeof var, "BOUNDARYTRACE_DUMP=%s", value);
    env[0] = var;
    expect_one_message(env, "BOUNDARYTRACE_DUMP", value, "no snapshot is written");
    assert_int_equal(access(value, F_OK), -1);
  }
  snprintf(value, sizeof value, "%s/t-%%x.json", g_dir);
  snprintf(var, sizeof var, "BOUNDARYTRACE_TIMELINE=%s", value);
  expect_one_message(env, "BOUNDARYTRACE_TIMELINE", value, "no timeline is kept");
  assert_int_equal(access(value, F_OK), -1);
  /* %% is one % */
  snprintf(value, sizeof value, "%s/a%%%%b.json", g_dir);
  snprintf(literal, sizeof literal, "%s/a%%b.json", g_dir);
  snprintf(var, sizeof var, "BOUNDARYTRACE_DUMP=%s", value);
  expect_no_message(env);
  assert_int_equal(access(value, F_OK), -1);
  assert_int_equal(access(literal, F_OK), 0);
  unlink(literal);
}

static void test_env_values__good_values_say_nothing(void **state) {
  char dump[256], timeline[256];
  const char *env[7];
  (void)state;
  snprintf(dump, sizeof dump, "BOUNDARYTRACE_DUMP=%s/d.prom", g_dir);
  snprintf(timeline, sizeof timeline, "BOUNDARYTRACE_TIMELINE=%s/t.json", g_dir);
  env[0] = "BOUNDARYTRACE_DISABLE=0";
  env[1] = "BOUNDARYTRACE_CLOCK=os";
  env[2] = "BOUNDARYTRACE_TIMELINE_CAPACITY=8";
  env[3] = dump;
  env[4] = timeline;
  env[5] = NULL;
  expect_no_message(env);
  assert_non_null(slurp(dump + strlen("BOUNDARYTRACE_DUMP=")));
  unlink(dump + strlen("BOUNDARYTRACE_DUMP="));
}

static int teardown(void **state) {
  char path[256];
  (void)state;
  snprintf(path, sizeof path, "%s/stderr.txt", g_dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/t.json", g_dir);
  unlink(path);
  return rmdir(g_dir);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_env_values__disable),
      cmocka_unit_test(test_env_values__clock),
      cmocka_unit_test(test_env_values__timeline_capacity),
      cmocka_unit_test(test_env_values__file_targets),
      cmocka_unit_test(test_env_values__link_or_fifo_target_is_refused),
      cmocka_unit_test(test_env_values__percent_in_file_targets),
      cmocka_unit_test(test_env_values__good_values_say_nothing),
  };
  if (argc < 2) {
    fprintf(stderr, "usage: %s path/to/exit_dump_child\n", argv[0]);
    return 2;
  }
  g_child = argv[1];
  if (!mkdtemp(g_dir)) return 2;
  return cmocka_run_group_tests_name("env_values", tests, NULL, teardown);
}
