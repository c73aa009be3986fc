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

// "key":v, (the comma unless last).
void field(Out &out, const char *key, uint64_t v, bool comma = true) {
  out.put('"');
  out.put_str(key);
  out.put("\":", 2);
  out.put_u64(v);
  if (comma) out.put(',');
}

void dist_json(Out &out, const Dist &d) {
  out.put('{');
  field(out, "count", d.count);
  field(out, "entries", d.entries);
  field(out, "sum_ns", d.sum);
  field(out, "min_ns", d.min_or_zero());
  field(out, "max_ns", d.max);
  field(out, "p50_ns", d.quantile(0.5));
  field(out, "p90_ns", d.quantile(0.9));
  field(out, "p99_ns", d.quantile(0.99));
  field(out, "p999_ns", d.quantile(0.999));
  out.put_str("\"buckets\":[");
  bool first = true;
  for (int b = d.hist.first_bucket(); b < d.hist.end_bucket(); ++b) {
    uint64_t n = d.hist.count_at(b);
    if (!n) continue;
    if (!first) out.put(',');
    first = false;
    out.put('[');
    out.put_u64(Histogram::lower_of(b));
    out.put(',');
    out.put_u64(Histogram::upper_of(b));
    out.put(',');
    out.put_u64(n);
    out.put(']');
  }
  out.put("]}", 2);
}

// A std::string as quote_into's sink, for json_quote: a string per quoted
// name, not an Out (whose own storage starts at 4 KiB).
struct StringSink {
  std::string &s;
  void put(char c) { s += c; }
  void put(const char *p, std::size_t n) { s.append(p, n); }
};

template <typename Sink>
void quote_into(Sink &out, const char *s) {
  const auto *u = reinterpret_cast<const unsigned char *>(s);
  std::size_t n = std::strlen(s);
  out.put('"');
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = u[i];
    std::size_t bad;
    bool cut;
    std::size_t k = c < 0x80 ? 1 : utf8_next(u + i, n - i, &bad, &cut);
    if (k == 0) {
      out.put("\xEF\xBF\xBD", 3);  // not UTF-8: U+FFFD, so the document stays valid
      i += bad;
    } else if (c == '"' || c == '\\') {
      out.put('\\');
      out.put(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out.put(buf, 6);
      ++i;
    } else {
      out.put(s + i, k);  // UTF-8 passes through
      i += k;
    }
  }
  out.put('"');
}

}  // namespace

void put_json_quoted(Out &out, const char *s) { quote_into(out, s); }

std::string json_quote(const char *s) {
  std::string text;
  StringSink sink{text};
  quote_into(sink, s);
  return text;
}

void format_json(const Snapshot &s, Out &out) {
  out.put_str("{\"schema\":\"boundarytrace.snapshot\",\"version\":1,\"clock\":");
  put_json_quoted(out, clock::source_name());
  out.put(',');
  field(out, "start_ns", s.start_ns);
  field(out, "end_ns", s.end_ns);
  // Of a shared directory (0 and [] otherwise): processes merged, records
  // their writers could not keep, files left out and why.
  field(out, "processes", s.processes);
  field(out, "dropped", s.dropped);
  out.put_str("\"skipped\":[");
  for (std::size_t i = 0; i < s.skipped.size(); ++i) {
    if (i) out.put(',');
    out.put_str("{\"path\":");
    put_json_quoted(out, s.skipped[i].path.c_str());
    out.put_str(",\"reason\":");
    put_json_quoted(out, s.skipped[i].reason.c_str());
    out.put('}');
  }
  out.put_str("],\"histogram\":{\"scheme\":\"base2-exponential\",\"scale\":");
  out.put_u64(Histogram::kScale);
  out.put_str("},\"phases\":[");
  for (uint32_t p = 0; p < s.phase_count; ++p) {
    if (p) out.put(',');
    out.put_str("{\"id\":");
    out.put_u64(p);
    out.put_str(",\"name\":");
    put_json_quoted(out, phases::name(static_cast<int>(p)));
    out.put_str(phases::gil_held(static_cast<int>(p)) ? ",\"gil_held\":true}" : ",\"gil_held\":false}");
  }
  out.put_str("],\"operations\":[");
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    const OpAgg &a = s.ops[i]->agg;
    if (i) out.put(',');
    out.put_str("{\"name\":");
    put_json_quoted(out, s.ops[i]->name);
    out.put(',');
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
    out.put_str(a.saturated ? "\"saturated\":true," : "\"saturated\":false,");
    out.put_str("\"total\":");
    dist_json(out, a.total);
    out.put_str(",\"gil_wait\":");  // per operation that released the GIL (empty: none did)
    static const Dist kNone;
    dist_json(out, a.wait() ? *a.wait() : kNone);
    out.put_str(",\"phases\":{");
    bool first = true;
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = a.phase(static_cast<int>(p));
      if (!d || d->count == 0) continue;
      if (!first) out.put(',');
      first = false;
      put_json_quoted(out, phases::name(static_cast<int>(p)));
      out.put(':');
      dist_json(out, *d);
    }
    out.put("}}", 2);
  }
  out.put("]}\n", 3);
}

std::string format_json(const Snapshot &s) {
  Out out;
  format_json(s, out);
  return out.take();
}

}  // namespace bt
