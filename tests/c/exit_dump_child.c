/* Helper of test_exit_dump: records one operation, then ends the way argv[1]
 * says. BOUNDARYTRACE_DUMP is set by the driver. Exit codes for the fork
 * modes: 0 when the child wrote no dump, 3 when it did. Mode "exit_busy"
 * calls exit() while other threads trace, scrape and register names; mode
 * "mkfifo" puts a FIFO where the dump goes, after the library checked the
 * path at load, and returns; mode "fork3" forks three children, each of which
 * records "child_<its pid>" and calls exit(), waits for them and calls exit(). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boundarytrace/bt.h>

static void record(const char *name) {
  bt_tracer *t;
  if (bt_tracer_new(&t, NULL, name) != BT_OK) _exit(10);
  bt_phase_begin(t, BT_PHASE_EXTRACT);
  bt_phase_end(t, BT_PHASE_EXTRACT);
  if (bt_tracer_finish(t) != BT_OK) _exit(11);
  bt_tracer_free(t);
}

/* Threads that keep using the library until the process ends under them. */
static void *tracing(void *arg) {
  char name[32];
  unsigned i = 0;
  (void)arg;
  for (;;) {
    bt_tracer *t;
    snprintf(name, sizeof name, "busy_%u", i++ % 50); /* new names too: the pool */
    if (bt_tracer_new(&t, NULL, i % 2 ? "busy_op" : name) != BT_OK) continue;
    bt_phase_begin(t, BT_PHASE_CONVERT);
    bt_phase_end(t, BT_PHASE_CONVERT);
    bt_tracer_finish(t);
    bt_tracer_free(t);
  }
  return NULL;
}

static void *scraping(void *arg) {
  char buf[256];
  size_t n;
  (void)arg;
  for (;;) {
    bt_snapshot *a = NULL, *b = NULL;
    if (bt_metrics_take(&a, &b, NULL) == BT_OK) {
      bt_snapshot_export(buf, sizeof buf, &n, b, BT_FORMAT_PROMETHEUS);
      bt_snapshot_free(a);
      bt_snapshot_free(b);
    }
    bt_timeline_export(buf, sizeof buf, &n);
  }
  return NULL;
}

static int exit_busy(void) {
  pthread_t th[4];
  struct timespec ts = {0, 20 * 1000 * 1000};
  int i;
  for (i = 0; i < 4; i++) {
    if (pthread_create(&th[i], NULL, i < 3 ? tracing : scraping, NULL) != 0) return 14;
  }
  nanosleep(&ts, NULL);
  exit(0); /* the threads are still running */
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const char *path = getenv("BOUNDARYTRACE_DUMP");
  record("parent_op");
  if (strcmp(mode, "exit") == 0) exit(0);
  if (strcmp(mode, "exit_busy") == 0) return exit_busy();
  if (strcmp(mode, "return") == 0) return 0;
  if (strcmp(mode, "mkfifo") == 0) return path && mkfifo(path, 0600) == 0 ? 0 : 15;
  if (strcmp(mode, "fork3") == 0) {
    pid_t kids[3];
    int i, status = 0;
    for (i = 0; i < 3; i++) {
      kids[i] = fork();
      if (kids[i] < 0) _exit(12);
      if (kids[i] == 0) {
        char name[32];
        snprintf(name, sizeof name, "child_%ld", (long)getpid());
        record(name);
        exit(0);
      }
    }
    for (i = 0; i < 3; i++) {
      if (waitpid(kids[i], &status, 0) != kids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(13);
    }
    exit(0);
  }
  if (strcmp(mode, "fork_exit") == 0 || strcmp(mode, "fork__exit") == 0) {
    int status = 0;
    pid_t pid = fork();
    if (pid < 0) _exit(12);
    if (pid == 0) {
      record("child_op");
      if (strcmp(mode, "fork_exit") == 0) exit(0);
      _exit(0);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(13);
    /* the parent ends without exit handlers: only the child could have dumped */
    _exit(path && access(path, F_OK) == 0 ? 3 : 0);
  }
  return 20;
}
