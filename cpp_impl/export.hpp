// Machine-readable renderings of a snapshot, and writing them to files.
// Formats are described for users in docs/formats.md.
#pragma once
#include <sys/stat.h>

#include <string>

#include "cpp_impl/out.hpp"
#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/status.hpp"

namespace bt {

// Values agree with bt_format (the C shim checks).
enum class Format : int {
  text = 0,
  json = 1,
  prometheus = 2,
  openmetrics = 3,
  folded = 4,
  prometheus_protobuf = 5,
  otlp_protobuf = 6,
  last = otlp_protobuf
};

inline bool format_valid(int f) { return f >= 0 && f <= static_cast<int>(Format::last); }

// Each may throw std::bad_alloc.
std::string format_json(const Snapshot &s);
std::string format_prometheus(const Snapshot &s, bool openmetrics);
std::string format_folded(const Snapshot &s);
std::string format_prometheus_protobuf(const Snapshot &s);  // bytes, not text
std::string format_otlp(const Snapshot &s);                 // bytes, not text
std::string render(const Snapshot &s, Format f);
// The Prometheus formats, OTLP and JSON write straight into `out`; the others
// append their finished string.
void format_prometheus(const Snapshot &s, bool openmetrics, Out &out);
void format_prometheus_protobuf(const Snapshot &s, Out &out);
void format_otlp(const Snapshot &s, Out &out);
void format_json(const Snapshot &s, Out &out);
void render(const Snapshot &s, Format f, Out &out);

// The format a path's suffix asks for; text when none matches.
Format format_for_path(const char *path);

// Why an existing file (lstat'ed as `st`) cannot be a target, or nullptr
// for a regular file; *err gets the errno a refused write leaves: ELOOP for
// a symbolic link (never followed), EISDIR for a directory, EINVAL for any
// other file that is not regular (a FIFO, a device, a socket).
const char *refusal_of(const struct stat &st, int *err);

// Writes `text` to `path` through a temporary file in the same directory and
// rename(2). A target that exists and is not a regular file is refused before
// anything is opened, and left as it is (*refused, when given, gets
// refusal_of's reason). The temporary file is created exclusively at a name
// of its own (pid and a serial number), so no planted link is followed and
// concurrent writers never share one; an existing target's permission bits
// are kept. Err::ok or Err::io (errno set; the temporary file is removed).
Err write_file_atomic(const char *path, const std::string &text, const char **refused = nullptr);

// JSON string literal of `s` (quotes included), escaping what JSON requires;
// bytes that are not UTF-8 become U+FFFD, so the literal is always valid.
std::string json_quote(const char *s);
// The same literal, appended to `out`.
void put_json_quoted(Out &out, const char *s);

}  // namespace bt
