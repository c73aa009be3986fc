// Choosing a format, and writing files atomically.
#include "cpp_impl/export.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <strings.h>

#include "cpp_impl/atomics.hpp"
#include "cpp_impl/format_text.hpp"

namespace bt {

std::string render(const Snapshot &s, Format f) {
  switch (f) {
    case Format::json: return format_json(s);
    case Format::prometheus: return format_prometheus(s, false);
    case Format::openmetrics: return format_prometheus(s, true);
    case Format::folded: return format_folded(s);
    case Format::prometheus_protobuf: return format_prometheus_protobuf(s);
    case Format::otlp_protobuf: return format_otlp(s);
    case Format::text: break;
  }
  return format_snapshot(s);
}

void render(const Snapshot &s, Format f, Out &out) {
  switch (f) {
    case Format::prometheus: return format_prometheus(s, false, out);
    case Format::openmetrics: return format_prometheus(s, true, out);
    case Format::prometheus_protobuf: return format_prometheus_protobuf(s, out);
    case Format::otlp_protobuf: return format_otlp(s, out);
    case Format::json: return format_json(s, out);
    default: return out.put(render(s, f));
  }
}

namespace {
bool ends_with(const char *s, const char *suffix) {
  std::size_t n = std::strlen(s), k = std::strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}
}  // namespace

Format format_for_path(const char *path) {
  if (ends_with(path, ".json")) return Format::json;
  if (ends_with(path, ".prom")) return Format::prometheus;
  if (ends_with(path, ".om") || ends_with(path, ".openmetrics")) return Format::openmetrics;
  if (ends_with(path, ".folded")) return Format::folded;
  return Format::text;
}

namespace {

// Numbers the temporary files of this process: with the pid it gives every
// write its own name, so two threads writing one path never share a file.
AtomicWord g_temp_serial;

// Bound on the names tried when one is taken (by a stale file or a link
// someone planted): past it the write fails with EEXIST.
constexpr int kTempAttempts = 64;

// Creates `<path>.tmp.<pid>.<serial>` exclusively: O_EXCL (with O_NOFOLLOW,
// said twice on purpose) never opens a file or follows a link already there.
int create_temp(const char *path, mode_t mode, std::string *tmp) {
  const std::string base = std::string(path) + ".tmp." + std::to_string(getpid()) + ".";
  for (int i = 0; i < kTempAttempts; ++i) {
    *tmp = base + std::to_string(g_temp_serial.fetch_add_relaxed(1));
    int fd = open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;  // errno is EEXIST
}

bool write_all(int fd, const std::string &text) {
  const char *p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

const char *refusal_of(const struct stat &st, int *err) {
  if (S_ISREG(st.st_mode)) return nullptr;
  if (S_ISLNK(st.st_mode)) {
    *err = ELOOP;  // what open(2) says for a link with O_NOFOLLOW
    return "is a symbolic link (not followed)";
  }
  *err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  return S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file";
}

Err write_file_atomic(const char *path, const std::string &text, const char **refused) {
  // The temporary file sits beside the target so rename(2) stays atomic
  // (same file system). The rename would replace a link, a FIFO or a device
  // node by a regular file: refuse them first, with lstat (opening a FIFO
  // would block). Missing is fine; any other lstat failure is left to the
  // open below to report.
  struct stat st;
  const bool exists = lstat(path, &st) == 0;
  int err = 0;
  if (const char *why = exists ? refusal_of(st, &err) : nullptr) {
    if (refused) *refused = why;
    errno = err;
    return Err::io;
  }
  // A new target gets 0644 less the umask, applied by open(2) itself (the
  // umask cannot be read without changing it for every thread). An existing
  // one keeps its permission bits: the file starts 0600, so the new content
  // is never readable by more than the old was, and gets the target's bits
  // before the rename (set-id bits are not carried over).
  std::string tmp;
  int fd = create_temp(path, exists ? 0600 : 0644, &tmp);
  if (fd < 0) return Err::io;
  bool ok = write_all(fd, text);
  // fchmod may fail on a file system without modes: the file stays 0600,
  // never more open than asked.
  if (ok && exists) (void)fchmod(fd, st.st_mode & 0777);
  int saved = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (ok && rename(tmp.c_str(), path) != 0) {
    ok = false;
    saved = errno;
  }
  if (ok) return Err::ok;
  unlink(tmp.c_str());
  errno = saved;
  return Err::io;
}

}  // namespace bt
