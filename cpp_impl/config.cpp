#include "cpp_impl/config.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <strings.h>

#include "cpp_impl/names.hpp"

namespace bt {
namespace config {

AtomicWord g_enabled{1};

namespace {

bool is_one_of(const char *v, const char *const *words) {
  for (; *words; ++words) {
    if (strcasecmp(v, *words) == 0) return true;
  }
  return false;
}

// `v` quoted for a message: UTF-8 text as it is, '"' and '\' escaped,
// control characters and bytes that are not UTF-8 as \xNN; at most about
// 200 bytes of it.
std::string quoted(const char *v) {
  constexpr std::size_t kMax = 200;
  const auto *u = reinterpret_cast<const unsigned char *>(v);
  const std::size_t n = std::strlen(v);
  std::string out = "\"";
  for (std::size_t i = 0; i < n;) {
    if (i >= kMax) {
      out += "...";
      break;
    }
    std::size_t bad;
    bool cut;
    std::size_t k = utf8_next(u + i, n - i, &bad, &cut);
    if (k > 1 || (k == 1 && u[i] >= 0x20 && u[i] != 0x7F)) {
      if (u[i] == '"' || u[i] == '\\') out += '\\';
      out.append(v + i, k);
      i += k;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u[i]);
      out += buf;
      ++i;
    }
  }
  out += '"';
  return out;
}

}  // namespace

void report_env(const char *name, const char *value, const char *problem, const char *instead) {
  try {
    std::fprintf(stderr, "boundarytrace: %s=%s %s; %s\n", name, quoted(value).c_str(), problem, instead);
  } catch (...) {
    std::fprintf(stderr, "boundarytrace: %s has an odd value: %s; %s\n", name, problem, instead);
  }
}

bool disable_requested() {
  static const char *const kYes[] = {"1", "true", "yes", "on", nullptr};
  static const char *const kNo[] = {"0", "false", "no", "off", nullptr};
  const char *v = std::getenv("BOUNDARYTRACE_DISABLE");
  if (!v || !*v || is_one_of(v, kNo)) return false;
  if (is_one_of(v, kYes)) return true;
  report_env("BOUNDARYTRACE_DISABLE", v, "is neither 1, true, yes, on nor 0, false, no, off",
             "recording stays on");
  return false;
}

ClockRequest clock_request() {
  static const char *const kOs[] = {"os", "monotonic", nullptr};
  static const char *const kDefault[] = {"auto", nullptr};
  const char *v = std::getenv("BOUNDARYTRACE_CLOCK");
  if (!v || !*v || is_one_of(v, kDefault)) return ClockRequest::none;
  if (is_one_of(v, kOs)) return ClockRequest::os;
  if (strcasecmp(v, "tsc") == 0) return ClockRequest::tsc;
  return ClockRequest::odd;
}

void report_clock(ClockRequest r, const char *source_in_use) {
  const char *v = std::getenv("BOUNDARYTRACE_CLOCK");
  if (!v) return;
  std::string instead = std::string("using the ") + source_in_use + " clock";
  if (r == ClockRequest::odd) {
    report_env("BOUNDARYTRACE_CLOCK", v, "is not os, monotonic, tsc or auto", (instead + " (the default)").c_str());
  } else if (r == ClockRequest::tsc && std::strcmp(source_in_use, "tsc") != 0) {
    report_env("BOUNDARYTRACE_CLOCK", v, "asks for the time-stamp counter, which is not invariant here",
               instead.c_str());
  }
}

}  // namespace config
}  // namespace bt
