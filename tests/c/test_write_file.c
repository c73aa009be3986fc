/* bt_snapshot_write's file safety: the temporary file is created exclusively
 * (a link planted at a guessable name is never followed), the target's mode
 * is kept, a target that is a link or not a regular file is refused and left
 * as it is, and two writers of one path never tear it or fail each other.
 * (test_export.c checks the content and the ordinary failures.) */
#include "bt_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A private sink with one operation recorded `count` times. */
static bt_snapshot *snapshot_of(const char *op, int count) {
  bt_metrics *m = bt_test_metrics_new();
  bt_snapshot *s;
  int i;
  for (i = 0; i < count; i++) {
    bt_timing t = bt_test_timing(op, 1000 + (uint64_t)i);
    assert_status(BT_OK, bt_metrics_record(m, &t));
  }
  s = bt_test_snapshot(m);
  bt_metrics_free(m);
  return s;
}

/* The whole file, malloc'd and NUL-terminated; NULL when it cannot be opened.
 * *len gets its size. */
static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *buf;
  size_t cap = 4096, n = 0, got;
  if (!fp) return NULL;
  buf = malloc(cap + 1);
  assert_non_null(buf);
  while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
    n += got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
  }
  fclose(fp);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static void put(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0); /* whatever the umask */
  assert_int_equal(close(fd), 0);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  }
  closedir(d);
  return n;
}

/* A link planted where the temporary file used to go (`<path>.tmp.<pid>`)
 * made the write truncate and fill the file it points to; now the temporary
 * file is created exclusively at a name no other writer uses. */
static void test_write_file__planted_link_at_the_temporary_name_is_not_followed(void **state) {
  char dir[] = "/tmp/bt_write_XXXXXX", path[128], tmp[160], victim[128];
  bt_snapshot *s = snapshot_of("op", 1);
  struct stat st;
  char *text;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/snap.json", dir);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  put(victim, "victim\n", 0644);
  assert_int_equal(symlink(victim, tmp), 0);
  assert_status(BT_OK, bt_snapshot_write(s, BT_FORMAT_JSON, path));
  text = slurp(victim, NULL);
  assert_string_equal(text, "victim\n");
  free(text);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  text = slurp(path, NULL);
  assert_non_null(strstr(text, "\"name\":\"op\",\"count\":1,"));
  free(text);
  assert_int_equal(lstat(tmp, &st), 0); /* the planted link is left alone */
  assert_true(S_ISLNK(st.st_mode));
  assert_int_equal(count_entries(dir), 3); /* no temporary file of ours left */
  unlink(tmp);
  unlink(victim);
  unlink(path);
  rmdir(dir);
  bt_snapshot_free(s);
}

/* An existing target keeps its mode (a 0600 file came back 0644); a new one
 * gets 0644 less the umask. */
static void test_write_file__target_mode_is_kept(void **state) {
  char dir[] = "/tmp/bt_write_XXXXXX", path[128], fresh[128];
  bt_snapshot *s = snapshot_of("op", 1);
  struct stat st;
  mode_t mask = umask(027);
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/private.json", dir);
  put(path, "old\n", 0600);
  assert_status(BT_OK, bt_snapshot_write(s, BT_FORMAT_JSON, path));
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  put(path, "old\n", 0664);
  assert_status(BT_OK, bt_snapshot_write(s, BT_FORMAT_JSON, path));
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0664);
  snprintf(fresh, sizeof fresh, "%s/new.json", dir);
  assert_status(BT_OK, bt_snapshot_write(s, BT_FORMAT_JSON, fresh));
  assert_int_equal(stat(fresh, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644 & ~027);
  umask(mask);
  unlink(path);
  unlink(fresh);
  rmdir(dir);
  bt_snapshot_free(s);
}

/* BT_E_IO with `want_errno`, and no temporary file left in `dir`
 * (`entries` is what it held before). */
static void refused(const bt_snapshot *s, const char *path, int want_errno, const char *dir,
                    int entries) {
  errno = 0;
  assert_status(BT_E_IO, bt_snapshot_write(s, BT_FORMAT_JSON, path));
  if (errno != want_errno) fail_msg("%s: errno %d (%s), want %d (%s)", path, errno, strerror(errno),
                                    want_errno, strerror(want_errno));
  if (dir) assert_int_equal(count_entries(dir), entries);
}

/* A FIFO was replaced by a regular file; now it is refused before anything
 * opens it (an open would block: the ctest timeout would catch a hang). */
static void test_write_file__fifo_target_is_refused_untouched(void **state) {
  char dir[] = "/tmp/bt_write_XXXXXX", path[128];
  bt_snapshot *s = snapshot_of("op", 1);
  struct stat st;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/pipe.json", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  refused(s, path, EINVAL, dir, 1);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  /* a directory: refused as well, with the errno that says so */
  snprintf(path, sizeof path, "%s/adir", dir);
  assert_int_equal(mkdir(path, 0700), 0);
  refused(s, path, EISDIR, dir, 2);
  rmdir(path);
  snprintf(path, sizeof path, "%s/pipe.json", dir);
  unlink(path);
  rmdir(dir);
  bt_snapshot_free(s);
}

/* A link as target was replaced by a regular file; now it is refused
 * (ELOOP, as open(2) says with O_NOFOLLOW), whether it dangles or not. */
static void test_write_file__link_target_is_refused_untouched(void **state) {
  char dir[] = "/tmp/bt_write_XXXXXX", path[128], victim[128], nowhere[128], got[128];
  bt_snapshot *s = snapshot_of("op", 1);
  struct stat st;
  char *text;
  ssize_t n;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/link.json", dir);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  snprintf(nowhere, sizeof nowhere, "%s/nowhere", dir);
  put(victim, "victim\n", 0644);
  assert_int_equal(symlink(victim, path), 0);
  refused(s, path, ELOOP, dir, 2);
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  n = readlink(path, got, sizeof got - 1);
  assert_true(n > 0);
  got[n] = '\0';
  assert_string_equal(got, victim);
  text = slurp(victim, NULL);
  assert_string_equal(text, "victim\n");
  free(text);
  unlink(path);
  assert_int_equal(symlink(nowhere, path), 0); /* dangling */
  refused(s, path, ELOOP, dir, 2);
  assert_int_equal(access(nowhere, F_OK), -1);
  unlink(path);
  unlink(victim);
  rmdir(dir);
  bt_snapshot_free(s);
}

/* A device node: a private copy of /dev/null first, then /dev/null itself.
 * As root a write that is not refused would replace /dev/null for the whole
 * machine, so root tests /dev/null only after its copy was refused. */
static void test_write_file__device_target_is_refused_untouched(void **state) {
  char dir[] = "/tmp/bt_write_XXXXXX", path[128];
  bt_snapshot *s = snapshot_of("op", 1);
  struct stat st;
  int copy;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/null", dir);
  copy = mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0;
  if (copy) {
    refused(s, path, EINVAL, dir, 1);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    unlink(path);
  }
  rmdir(dir);
  if (copy || geteuid() != 0) {
    refused(s, "/dev/null", EINVAL, NULL, 0);
    assert_int_equal(lstat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
  } else {
    print_message("root without mknod: /dev/null itself not tried\n");
  }
  bt_snapshot_free(s);
}

/* Two threads write one path 2000 times each, two different snapshots, while
 * a third reads it: every read is one whole version, no write fails. (They
 * shared the temporary name: a reader saw torn files, and a writer whose
 * file the other had renamed away got BT_E_IO.) */
struct writer {
  const bt_snapshot *s;
  const char *path;
  int rounds, failures, last_errno;
};

struct reader {
  const char *path;
  const char *versions[2];
  size_t lengths[2];
  volatile int *done;
  int reads, torn;
  char first_torn[160];
};

static void *write_often(void *arg) {
  struct writer *w = (struct writer *)arg;
  int i;
  for (i = 0; i < w->rounds; i++) {
    if (bt_snapshot_write(w->s, BT_FORMAT_JSON, w->path) != BT_OK) {
      w->failures++;
      w->last_errno = errno;
    }
  }
  return NULL;
}

static void *read_often(void *arg) {
  struct reader *r = (struct reader *)arg;
  while (!__atomic_load_n(r->done, __ATOMIC_ACQUIRE)) {
    size_t len = 0;
    char *got = slurp(r->path, &len);
    int whole = got && ((len == r->lengths[0] && memcmp(got, r->versions[0], len) == 0) ||
                        (len == r->lengths[1] && memcmp(got, r->versions[1], len) == 0));
    r->reads++;
    if (!whole && r->torn++ == 0) {
      snprintf(r->first_torn, sizeof r->first_torn, "%zu bytes (want %zu or %zu): %.80s", len,
               r->lengths[0], r->lengths[1], got ? got : "(could not open)");
    }
    free(got);
  }
  return NULL;
}

static char *exported(const bt_snapshot *s, size_t *len) {
  char *buf;
  assert_status(BT_OK, bt_snapshot_export(NULL, 0, len, s, BT_FORMAT_JSON));
  buf = malloc(*len + 1);
  assert_non_null(buf);
  assert_status(BT_OK, bt_snapshot_export(buf, *len + 1, len, s, BT_FORMAT_JSON));
  return buf;
}

static void test_write_file__two_writers_never_tear_or_fail(void **state) {
  char dir[] = "/tmp/bt_write_XXXXXX", path[128];
  bt_snapshot *a = snapshot_of("version_a", 1), *b = snapshot_of("version_b", 2);
  struct writer w[2];
  struct reader r;
  volatile int done = 0;
  pthread_t tw[2], tr;
  int i, rounds = 2000 / bt_test_slowdown();
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/shared.json", dir);
  memset(&r, 0, sizeof r);
  r.path = path;
  r.versions[0] = exported(a, &r.lengths[0]);
  r.versions[1] = exported(b, &r.lengths[1]);
  r.done = &done;
  assert_status(BT_OK, bt_snapshot_write(a, BT_FORMAT_JSON, path)); /* there from the start */
  for (i = 0; i < 2; i++) {
    w[i].s = i ? b : a;
    w[i].path = path;
    w[i].rounds = rounds;
    w[i].failures = w[i].last_errno = 0;
  }
  assert_int_equal(pthread_create(&tr, NULL, read_often, &r), 0);
  for (i = 0; i < 2; i++) assert_int_equal(pthread_create(&tw[i], NULL, write_often, &w[i]), 0);
  for (i = 0; i < 2; i++) assert_int_equal(pthread_join(tw[i], NULL), 0);
  __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  assert_int_equal(pthread_join(tr, NULL), 0);
  if (w[0].failures || w[1].failures || r.torn) {
    fail_msg("writes failed: %d and %d of %d (errno %d, %d); reads that saw no whole version: "
             "%d of %d, first: %s", w[0].failures, w[1].failures, rounds, w[0].last_errno,
             w[1].last_errno, r.torn, r.reads, r.first_torn);
  }
  assert_int_equal(count_entries(dir), 1); /* no temporary file left */
  free((char *)r.versions[0]);
  free((char *)r.versions[1]);
  unlink(path);
  rmdir(dir);
  bt_snapshot_free(a);
  bt_snapshot_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_file__planted_link_at_the_temporary_name_is_not_followed),
      cmocka_unit_test(test_write_file__target_mode_is_kept),
      cmocka_unit_test(test_write_file__fifo_target_is_refused_untouched),
      cmocka_unit_test(test_write_file__link_target_is_refused_untouched),
      cmocka_unit_test(test_write_file__device_target_is_refused_untouched),
      cmocka_unit_test(test_write_file__two_writers_never_tear_or_fail),
  };
  return cmocka_run_group_tests_name("write_file", tests, NULL, NULL);
}
