#include "cpp_impl/exit_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "cpp_impl/config.hpp"
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
  const char *refused;            // what a refused value means, for the message
  char *path;                     // strdup'ed, %p and %% unexpanded; nullptr when off
  std::string (*render)(const char *path);  // may throw bad_alloc
  bool said;                      // a failure was reported
  bool per_process;               // the path has %p: a forked child writes its own
};

std::string render_snapshot(const char *path) {
  Snapshot *snap = nullptr;
  if (Metrics::global().snapshot(&snap) != Err::ok) throw std::bad_alloc();
  std::unique_ptr<Snapshot> owned(snap);
  return render(*owned, format_for_path(path));
}

std::string render_trace(const char *) { return timeline::format_chrome(timeline::copy()); }

ExitFile g_files[] = {
    {"BOUNDARYTRACE_DUMP", "no snapshot is written at exit", nullptr, render_snapshot, false, false},
    {"BOUNDARYTRACE_TIMELINE", "no timeline is kept or written", nullptr, render_trace, false, false},
};
ExitFile &g_dump = g_files[0];
ExitFile &g_timeline = g_files[1];
pid_t g_pid = 0;  // the process that armed the files

void report(ExitFile &f, const char *path, const char *what) {
  if (f.said) return;
  f.said = true;
  std::fprintf(stderr, "boundarytrace: could not write %s=%s: %s\n", f.variable, path, what);
}

// The first '%' of a path not followed by 'p' or '%', or nullptr.
const char *bad_percent(const char *path) {
  for (const char *p = path; (p = std::strchr(p, '%')) != nullptr; p += 2) {
    if (p[1] != 'p' && p[1] != '%') return p;  // a '%' that ends the path too
  }
  return nullptr;
}

// Whether a path (without a bad_percent) has a %p: "%%p" is a '%' and a 'p'.
bool has_pid(const char *path) {
  for (const char *p = path; (p = std::strchr(p, '%')) != nullptr; p += 2) {
    if (p[1] == 'p') return true;
  }
  return false;
}

// `path` with %p replaced by `pid` and %% by %. May throw bad_alloc.
std::string expand(const char *path, pid_t pid) {
  std::string out;
  for (const char *p = path; *p; ++p) {
    if (p[0] == '%' && p[1] == 'p') {
      out += std::to_string(pid);
      ++p;
    } else {
      if (p[0] == '%' && p[1] == '%') ++p;
      out += *p;
    }
  }
  return out;
}

// Without %p only the process that read the variable writes: a forked child
// would overwrite its parent's file with a copy of its figures.
void write_at_exit() {
  for (ExitFile &f : g_files) {
    if (!f.path) continue;
    if (getpid() == g_pid || f.per_process) {
      try {
        const std::string path = expand(f.path, getpid());
        const char *refused = nullptr;
        if (write_file_atomic(path.c_str(), f.render(path.c_str()), &refused) != Err::ok)
          report(f, path.c_str(), refused ? refused : std::strerror(errno));
      } catch (const std::bad_alloc &) {
        report(f, f.path, "out of memory");
      }
    }
    std::free(f.path);
    f.path = nullptr;
  }
}

// BOUNDARYTRACE_TIMELINE_CAPACITY: decimal digits only (strtoull alone would
// take a sign or leading blanks, and read "-18446744073709551615" as 1).
std::size_t trace_capacity() {
  const char *v = std::getenv("BOUNDARYTRACE_TIMELINE_CAPACITY");
  if (!v || !*v) return kDefaultTraceCapacity;
  std::size_t n = 0;
  bool ok = true;
  for (const char *p = v; *p && ok; ++p) {
    ok = *p >= '0' && *p <= '9';
    if (ok) n = n * 10 + static_cast<std::size_t>(*p - '0');
    ok = ok && n <= timeline::kMaxCapacity;  // stops before n can wrap
  }
  if (!ok || n == 0) {
    char problem[64];
    std::snprintf(problem, sizeof problem, "is not a whole number in 1..%zu", timeline::kMaxCapacity);
    char instead[32];
    std::snprintf(instead, sizeof instead, "using %zu", kDefaultTraceCapacity);
    config::report_env("BOUNDARYTRACE_TIMELINE_CAPACITY", v, problem, instead);
    return kDefaultTraceCapacity;
  }
  return n;
}

// Why `path` cannot be a file target, or nullptr: a name ending in '/', or
// what write_file_atomic would refuse (a link, a directory, a device, a
// pipe). The write checks again at exit: the file may change meanwhile.
const char *odd_target(const char *path) {
  struct stat st;
  std::size_t n = std::strlen(path);
  if (n > 0 && path[n - 1] == '/') return "names a directory";
  if (lstat(path, &st) != 0) return nullptr;  // not there yet: made at exit
  int err = 0;
  return refusal_of(st, &err);
}

// The directory part of `path`, resolved ("." when it has none), then its
// last part: two spellings of one file compare equal.
std::string resolved(const char *path) {
  const char *slash = std::strrchr(path, '/');
  std::string dir = slash ? std::string(path, slash == path ? 1 : static_cast<std::size_t>(slash - path)) : ".";
  char *real = realpath(dir.c_str(), nullptr);
  std::string out = real ? real : dir;
  std::free(real);
  return out + "/" + (slash ? slash + 1 : path);
}

// Why the path `v` asks for cannot be a target, or nullptr; a path with %p
// is checked as this process would write it.
const char *odd_value(const char *v) {
  if (bad_percent(v)) return "has a % followed by neither p (the process id) nor %";
  try {
    return odd_target(expand(v, getpid()).c_str());
  } catch (const std::bad_alloc &) {
    return nullptr;  // checked again when written
  }
}

// Reads the variables; a refused value is said once, here, and not tried at exit.
void read_targets() {
  for (ExitFile &f : g_files) {
    const char *v = std::getenv(f.variable);
    if (!v || !*v) continue;
    if (const char *why = odd_value(v)) {
      config::report_env(f.variable, v, why, f.refused);
      continue;
    }
    f.path = strdup(v);
    f.per_process = has_pid(v);
  }
  if (g_dump.path && g_timeline.path) {
    bool same = false;
    try {
      const pid_t pid = getpid();
      same = std::strcmp(g_dump.path, g_timeline.path) == 0 ||
             resolved(expand(g_dump.path, pid).c_str()) == resolved(expand(g_timeline.path, pid).c_str());
    } catch (const std::bad_alloc &) {
    }
    if (same) {
      char problem[64];
      std::snprintf(problem, sizeof problem, "names the file of %s", g_dump.variable);
      config::report_env(g_timeline.variable, g_timeline.path, problem, g_timeline.refused);
      std::free(g_timeline.path);
      g_timeline.path = nullptr;
    }
  }
  const char *capacity = std::getenv("BOUNDARYTRACE_TIMELINE_CAPACITY");
  const char *timeline = std::getenv(g_timeline.variable);
  if (capacity && *capacity && (!timeline || !*timeline))
    config::report_env("BOUNDARYTRACE_TIMELINE_CAPACITY", capacity, "has no effect without BOUNDARYTRACE_TIMELINE",
                       "ignored");
}

}  // namespace

void arm_exit_files() {
  read_targets();
  if (!g_dump.path && !g_timeline.path) return;
  g_pid = getpid();
  if (g_timeline.path && timeline::start(trace_capacity()) != Err::ok)
    report(g_timeline, g_timeline.path, "out of memory");
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
