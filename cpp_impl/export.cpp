// Choosing a format, and writing files atomically.
#include "cpp_impl/export.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <strings.h>

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

Err write_file_atomic(const char *path, const std::string &text) {
  // The temporary file sits beside the target so rename(2) stays atomic
  // (same file system); the pid keeps two processes from sharing it.
  std::string tmp = std::string(path) + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Err::io;
  const char *p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno ? errno : EIO;
      close(fd);
      unlink(tmp.c_str());
      errno = saved;
      return Err::io;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (close(fd) != 0 || rename(tmp.c_str(), path) != 0) {
    int saved = errno;
    unlink(tmp.c_str());
    errno = saved;
    return Err::io;
  }
  return Err::ok;
}

}  // namespace bt
