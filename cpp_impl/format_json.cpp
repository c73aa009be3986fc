// The JSON snapshot, schema "boundarytrace.snapshot" version 1 (docs/formats.md).
// It holds every figure of the snapshot, histogram buckets included, so two
// snapshots can be compared or merged by a program later.
#include <cstdio>
#include <cstring>

#include "cpp_impl/clock.hpp"
#include "cpp_impl/export.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {

void field(std::string &out, const char *key, uint64_t v, bool comma = true) {
  out += '"';
  out += key;
  out += "\":";
  out += std::to_string(v);
  if (comma) out += ',';
}

void dist_json(std::string &out, const Dist &d) {
  out += '{';
  field(out, "count", d.count);
  field(out, "entries", d.entries);
  field(out, "sum_ns", d.sum);
  field(out, "min_ns", d.min_or_zero());
  field(out, "max_ns", d.max);
  field(out, "p50_ns", d.quantile(0.5));
  field(out, "p90_ns", d.quantile(0.9));
  field(out, "p99_ns", d.quantile(0.99));
  field(out, "p999_ns", d.quantile(0.999));
  out += "\"buckets\":[";
  bool first = true;
  for (int b = d.hist.first_bucket(); b < d.hist.end_bucket(); ++b) {
    uint64_t n = d.hist.count_at(b);
    if (!n) continue;
    if (!first) out += ',';
    first = false;
    out += '[' + std::to_string(Histogram::lower_of(b)) + ',' + std::to_string(Histogram::upper_of(b)) + ',' +
           std::to_string(n) + ']';
  }
  out += "]}";
}

}  // namespace

std::string json_quote(const char *s) {
  const auto *u = reinterpret_cast<const unsigned char *>(s);
  std::size_t n = std::strlen(s);
  std::string out = "\"";
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = u[i];
    std::size_t bad;
    bool cut;
    std::size_t k = c < 0x80 ? 1 : utf8_next(u + i, n - i, &bad, &cut);
    if (k == 0) {
      out += "\xEF\xBF\xBD";  // not UTF-8: U+FFFD, so the document stays valid
      i += bad;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else {
      out.append(s + i, k);  // UTF-8 passes through
      i += k;
    }
  }
  out += '"';
  return out;
}

std::string format_json(const Snapshot &s) {
  std::string out;
  out.reserve(1024 + 512 * s.ops.size());
  out += "{\"schema\":\"boundarytrace.snapshot\",\"version\":1,";
  out += "\"clock\":" + json_quote(clock::source_name()) + ',';
  field(out, "start_ns", s.start_ns);
  field(out, "end_ns", s.end_ns);
  // Of a shared directory (0 and [] otherwise): processes merged, records
  // their writers could not keep, files left out and why.
  field(out, "processes", s.processes);
  field(out, "dropped", s.dropped);
  out += "\"skipped\":[";
  for (std::size_t i = 0; i < s.skipped.size(); ++i) {
    if (i) out += ',';
    out += "{\"path\":" + json_quote(s.skipped[i].path.c_str()) + ",\"reason\":" +
           json_quote(s.skipped[i].reason.c_str()) + '}';
  }
  out += "],";
  out += "\"histogram\":{\"scheme\":\"base2-exponential\",\"scale\":" + std::to_string(Histogram::kScale) + "},";
  out += "\"phases\":[";
  for (uint32_t p = 0; p < s.phase_count; ++p) {
    if (p) out += ',';
    out += "{\"id\":" + std::to_string(p) + ",\"name\":" + json_quote(phases::name(static_cast<int>(p))) +
           ",\"gil_held\":" + (phases::gil_held(static_cast<int>(p)) ? "true" : "false") + '}';
  }
  out += "],\"operations\":[";
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    const OpAgg &a = s.ops[i]->agg;
    if (i) out += ',';
    out += "{\"name\":" + json_quote(s.ops[i]->name) + ',';
    field(out, "count", a.count);
    field(out, "errors", a.errors);
    field(out, "left_open", a.left_open);
    field(out, "items", a.items);
    field(out, "total_ns", a.total.sum);
    field(out, "gil_held_ns", a.gil_held_ns);
    field(out, "gil_released_ns", a.gil_released_ns);
    field(out, "gil_wait_ns", a.gil_wait_ns);
    field(out, "unattributed_ns", a.unattributed_ns);
    field(out, "gil_releases", a.gil_releases);
    field(out, "parallel_ops", a.parallel_ops);
    field(out, "workers_max", a.workers_max);
    out += std::string("\"saturated\":") + (a.saturated ? "true," : "false,");
    out += "\"total\":";
    dist_json(out, a.total);
    out += ",\"gil_wait\":";  // per operation that released the GIL (empty: none did)
    static const Dist kNone;
    dist_json(out, a.wait() ? *a.wait() : kNone);
    out += ",\"phases\":{";
    bool first = true;
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = a.phase(static_cast<int>(p));
      if (!d || d->count == 0) continue;
      if (!first) out += ',';
      first = false;
      out += json_quote(phases::name(static_cast<int>(p))) + ':';
      dist_json(out, *d);
    }
    out += "}}";
  }
  out += "]}\n";
  return out;
}

}  // namespace bt
