// Prometheus text exposition (0.0.4) and OpenMetrics 1.0 text.
//
// Histogram buckets are powers of two nanoseconds (256 ns .. 2^36 ns, about
// 69 s): they fall on the boundaries of the core's own buckets, whose upper
// bounds are inclusive like Prometheus' `le`, so every cumulative count is
// exact rather than interpolated.
#include <cstdio>

#include "cpp_impl/export.hpp"
#include "cpp_impl/export_figures.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {

constexpr int kFirstPow = 8;
constexpr int kLastPow = 36;

std::string label_value(const char *s) {
  std::string out;
  for (const char *p = s; *p; ++p) {
    if (*p == '\\') out += "\\\\";
    else if (*p == '"') out += "\\\"";
    else if (*p == '\n') out += "\\n";
    else out += *p;
  }
  return out;
}

// Exact decimal seconds of a nanosecond count: "0.000001234", "12.5".
std::string seconds(uint64_t ns) {
  char buf[48];
  uint64_t whole = ns / 1000000000u, frac = ns % 1000000000u;
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(whole));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%llu.%09llu", static_cast<unsigned long long>(whole),
                static_cast<unsigned long long>(frac));
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  return s;
}

// Count of samples in `d` at most 2^pow ns: 2^pow closes its bucket.
uint64_t up_to_pow2(const Dist &d, int pow) {
  const int last = Histogram::bucket_of(1ull << pow);
  uint64_t n = 0;
  for (int b = d.hist.first_bucket(); b < d.hist.end_bucket() && b <= last; ++b) n += d.hist.count_at(b);
  return n;
}

class Writer {
 public:
  explicit Writer(bool om) : om_(om) {}

  // Starts a family. `unit` is "seconds" or "" (OpenMetrics # UNIT).
  void family(const std::string &name, const char *type, const char *help, const char *unit) {
    // Prometheus 0.0.4 names a counter family by its sample name (_total);
    // OpenMetrics names it without the suffix.
    std::string fam = (!om_ && std::string(type) == "counter") ? name + "_total" : name;
    out_ += "# HELP " + fam + ' ' + help + '\n';
    out_ += "# TYPE " + fam + ' ' + type + '\n';
    if (om_ && *unit) out_ += "# UNIT " + fam + ' ' + unit + '\n';
  }

  void sample(const std::string &name, const std::string &labels, const std::string &value) {
    out_ += name;
    if (!labels.empty()) out_ += '{' + labels + '}';
    out_ += ' ' + value + '\n';
  }

  void histogram(const std::string &name, const std::string &labels, const Dist &d) {
    std::string sep = labels.empty() ? "" : ",";
    for (int k = kFirstPow; k <= kLastPow; ++k) {
      sample(name + "_bucket", labels + sep + "le=\"" + seconds(1ull << k) + '"', std::to_string(up_to_pow2(d, k)));
    }
    sample(name + "_bucket", labels + sep + "le=\"+Inf\"", std::to_string(d.count));
    sample(name + "_sum", labels, seconds(d.sum));
    sample(name + "_count", labels, std::to_string(d.count));
  }

  std::string finish() {
    if (om_) out_ += "# EOF\n";
    return std::move(out_);
  }

 private:
  bool om_;
  std::string out_;
};

std::string op_label(const SnapOp &op) { return "op=\"" + label_value(op.name) + '"'; }

std::string phase_labels(const SnapOp &op, uint32_t p) {
  return op_label(op) + ",phase=\"" + label_value(phases::name(static_cast<int>(p))) + '"';
}

}  // namespace

std::string format_prometheus(const Snapshot &s, bool openmetrics) {
  Writer w(openmetrics);
  for (const CounterFigure &c : kCounterFigures) {
    w.family(c.prometheus, "counter", c.help, c.is_time ? "seconds" : "");
    for (const auto &op : s.ops) {
      uint64_t v = op->agg.*c.field;
      w.sample(std::string(c.prometheus) + "_total", op_label(*op), c.is_time ? seconds(v) : std::to_string(v));
    }
  }
  w.family("boundarytrace_phase_entries", "counter", "Times a phase was entered.", "");
  for (const auto &op : s.ops) {
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = op->agg.phase(static_cast<int>(p));
      if (d && d->count) w.sample("boundarytrace_phase_entries_total", phase_labels(*op, p), std::to_string(d->entries));
    }
  }
  w.family("boundarytrace_operation_seconds", "histogram", "Time per operation.", "seconds");
  for (const auto &op : s.ops) w.histogram("boundarytrace_operation_seconds", op_label(*op), op->agg.total);
  w.family("boundarytrace_operation_gil_wait_seconds", "histogram",
           "Time per operation spent waiting to get the GIL back, of operations that released it.", "seconds");
  for (const auto &op : s.ops) {
    if (const Dist *d = op->agg.wait(); d && d->count)
      w.histogram("boundarytrace_operation_gil_wait_seconds", op_label(*op), *d);
  }
  w.family("boundarytrace_phase_seconds", "histogram", "Time per operation spent in a phase.", "seconds");
  for (const auto &op : s.ops) {
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = op->agg.phase(static_cast<int>(p));
      if (d && d->count) w.histogram("boundarytrace_phase_seconds", phase_labels(*op, p), *d);
    }
  }
  return w.finish();
}

}  // namespace bt
