/* Helper of test_exit_dump: records one operation, then ends the way argv[1]
 * says. BOUNDARYTRACE_DUMP is set by the driver. Exit codes for the fork
 * modes: 0 when the child wrote no dump, 3 when it did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boundarytrace/bt.h>

static void record(const char *name) {
  bt_tracer *t;
  if (bt_tracer_new(&t, NULL, name) != BT_OK) _exit(10);
  bt_phase_begin(t, BT_PHASE_EXTRACT);
  bt_phase_end(t, BT_PHASE_EXTRACT);
  if (bt_tracer_finish(t, NULL) != BT_OK) _exit(11);
  bt_tracer_free(t);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const char *path = getenv("BOUNDARYTRACE_DUMP");
  record("parent_op");
  if (strcmp(mode, "exit") == 0) exit(0);
  if (strcmp(mode, "return") == 0) return 0;
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
