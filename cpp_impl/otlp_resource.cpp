#include "cpp_impl/otlp_resource.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cpp_impl/config.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/snapshot.hpp"

namespace bt {

namespace {

// `s` with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(const std::string &s) {
  const auto *u = reinterpret_cast<const unsigned char *>(s.data());
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t bad;
    bool cut;
    const std::size_t k = utf8_next(u + i, s.size() - i, &bad, &cut);
    if (k > 0) {
      out.append(s, i, k);
      i += k;
    } else {
      out += "\xEF\xBF\xBD";
      i += bad;
    }
  }
  return out;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string stripped(const char *b, const char *e) {
  while (b < e && blank(*b)) ++b;
  while (e > b && blank(e[-1])) --e;
  return std::string(b, e);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded; a '%' not followed by two hex digits stays as it is.
std::string percent_decoded(const std::string &v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    int hi, lo;
    if (v[i] == '%' && i + 2 < v.size() && (hi = hex(v[i + 1])) >= 0 && (lo = hex(v[i + 2])) >= 0) {
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

void set(std::vector<ResourceAttr> &attrs, const std::string &key, const std::string &text) {
  const std::string k = valid_utf8(key), v = valid_utf8(text);
  for (ResourceAttr &a : attrs) {
    if (a.key == k) {
      a.text = v;
      a.is_int = false;
      return;
    }
  }
  attrs.push_back(ResourceAttr{k, v, 0, false});
}

std::atomic<bool> g_told_bad_item{false};

void add_environment(std::vector<ResourceAttr> &attrs) {
  const char *env = std::getenv("OTEL_RESOURCE_ATTRIBUTES");
  if (!env) return;
  bool bad = false;
  for (const char *item = env;;) {
    const char *end = std::strchr(item, ',');
    if (!end) end = item + std::strlen(item);
    const char *eq = static_cast<const char *>(std::memchr(item, '=', static_cast<std::size_t>(end - item)));
    const std::string key = eq ? stripped(item, eq) : std::string();
    if (!key.empty()) {
      set(attrs, key, percent_decoded(stripped(eq + 1, end)));
    } else if (!stripped(item, end).empty()) {  // a blank item (",,", a last ',') is nothing
      bad = true;
    }
    if (!*end) break;
    item = end + 1;
  }
  if (bad && !g_told_bad_item.exchange(true)) {
    config::report_env("OTEL_RESOURCE_ATTRIBUTES", env, "has an item that is not key=value",
                       "the OTLP exports leave it out");
  }
}

}  // namespace

std::vector<ResourceAttr> otlp_resource(const Snapshot &s) {
  std::vector<ResourceAttr> attrs;
  set(attrs, "service.name", "unknown_service");
  set(attrs, "telemetry.sdk.name", "boundarytrace");
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && host[0]) set(attrs, "host.name", host);
  if (s.shared_dir.empty()) {
    attrs.push_back(ResourceAttr{"process.pid", std::string(), static_cast<int64_t>(getpid()), true});
  } else {
    set(attrs, "boundarytrace.shared_dir", s.shared_dir);
  }
  add_environment(attrs);
  const char *service = std::getenv("OTEL_SERVICE_NAME");
  if (service && *service) set(attrs, "service.name", service);
  return attrs;
}

}  // namespace bt
