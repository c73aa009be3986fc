#include "cpp_impl/exit_dump.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "cpp_impl/export.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/names.hpp"

namespace bt {

namespace {

// Plain pointers, not std::string: arm_exit_dump runs from a load-time
// constructor, possibly before this file's dynamic initialisers.
char *g_path = nullptr;
pid_t g_pid = 0;  // the process that armed the dump; a forked child does not dump

void report_once(const char *what) {
  static bool said = false;
  if (said) return;
  said = true;
  std::fprintf(stderr, "boundarytrace: could not write BOUNDARYTRACE_DUMP=%s: %s\n", g_path, what);
}

void write_dump() {
  try {
    Snapshot *snap = nullptr;
    if (Metrics::global().snapshot(&snap) != Err::ok) {
      report_once("out of memory");
      return;
    }
    std::string text = render(*snap, format_for_path(g_path));
    delete snap;
    if (write_file_atomic(g_path, text) != Err::ok) report_once(std::strerror(errno));
  } catch (const std::bad_alloc &) {
    report_once("out of memory");
  }
}

void dump_at_exit() {
  if (getpid() == g_pid) write_dump();
  std::free(g_path);
  g_path = nullptr;
}

}  // namespace

void arm_exit_dump() {
  const char *path = std::getenv("BOUNDARYTRACE_DUMP");
  if (!path || !*path) return;
  g_path = strdup(path);
  if (!g_path) return;
  g_pid = getpid();
  // Exit handlers run in reverse order of registration: constructing the
  // name pool and the global metrics first makes the dump run before they
  // are destroyed, both at exit() and when the library is unloaded.
  intern_pool_init();
  Metrics::global();
  if (std::atexit(dump_at_exit) != 0) report_once("atexit failed");
}

}  // namespace bt
