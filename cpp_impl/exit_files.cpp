#include "cpp_impl/exit_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "cpp_impl/export.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/timeline.hpp"
#include "cpp_impl/startup.hpp"

namespace bt {

namespace {

constexpr std::size_t kDefaultTraceCapacity = 10000;

// Plain data, not std::string: arm_exit_files runs from a load-time
// constructor, possibly before this file's dynamic initialisers.
struct ExitFile {
  const char *variable;
  char *path;                     // strdup'ed; nullptr when off
  std::string (*render)(const char *path);  // may throw bad_alloc
  bool said;                      // a failure was reported
};

std::string render_snapshot(const char *path) {
  Snapshot *snap = nullptr;
  if (Metrics::global().snapshot(&snap) != Err::ok) throw std::bad_alloc();
  std::unique_ptr<Snapshot> owned(snap);
  return render(*owned, format_for_path(path));
}

std::string render_trace(const char *) { return timeline::format_chrome(timeline::copy()); }

ExitFile g_files[] = {
    {"BOUNDARYTRACE_DUMP", nullptr, render_snapshot, false},
    {"BOUNDARYTRACE_TIMELINE", nullptr, render_trace, false},
};
pid_t g_pid = 0;  // the process that armed the files

void report(ExitFile &f, const char *what) {
  if (f.said) return;
  f.said = true;
  std::fprintf(stderr, "boundarytrace: could not write %s=%s: %s\n", f.variable, f.path, what);
}

void write_at_exit() {
  for (ExitFile &f : g_files) {
    if (!f.path) continue;
    if (getpid() == g_pid) {
      try {
        if (write_file_atomic(f.path, f.render(f.path)) != Err::ok) report(f, std::strerror(errno));
      } catch (const std::bad_alloc &) {
        report(f, "out of memory");
      }
    }
    std::free(f.path);
    f.path = nullptr;
  }
}

std::size_t trace_capacity() {
  const char *v = std::getenv("BOUNDARYTRACE_TIMELINE_CAPACITY");
  if (!v || !*v) return kDefaultTraceCapacity;
  char *end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v, &end, 10);
  if (errno || *end || n == 0 || n > timeline::kMaxCapacity) {
    std::fprintf(stderr, "boundarytrace: BOUNDARYTRACE_TIMELINE_CAPACITY=%s is not 1..%zu; using %zu\n", v,
                 timeline::kMaxCapacity, kDefaultTraceCapacity);
    return kDefaultTraceCapacity;
  }
  return static_cast<std::size_t>(n);
}

}  // namespace

void arm_exit_files() {
  bool any = false;
  for (ExitFile &f : g_files) {
    const char *v = std::getenv(f.variable);
    if (v && *v) any = (f.path = strdup(v)) != nullptr || any;
  }
  if (!any) return;
  g_pid = getpid();
  if (g_files[1].path && timeline::start(trace_capacity()) != Err::ok) report(g_files[1], "out of memory");
  // Exit handlers run in reverse order of registration: building the name
  // pool, the global metrics and the trace ring first makes the files get
  // written before those are destroyed, at exit() and at unload alike.
  build_process_objects();
  // A static whose destructor writes the files: C++ destroys statics in the
  // reverse order of their construction, at exit() and at unload alike, so
  // it runs before the objects above are gone. (A plain atexit() handler
  // would depend on how atexit and static destructors interleave, which
  // differs under sanitizer runtimes.)
  struct Writer {
    ~Writer() { write_at_exit(); }
  };
  static Writer writer;
  (void)writer;
}

}  // namespace bt
