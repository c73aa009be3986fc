// Prometheus text exposition (0.0.4) and OpenMetrics 1.0 text.
//
// Histogram buckets are powers of two nanoseconds (256 ns .. 2^36 ns, about
// 69 s): they fall on the boundaries of the core's own buckets, whose upper
// bounds are inclusive like Prometheus' `le`, so every cumulative count is
// exact rather than interpolated.
#include <cstring>

#include "cpp_impl/export.hpp"
#include "cpp_impl/export_figures.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {

constexpr int kFirstPow = 8;
constexpr int kLastPow = 36;

// A label value, escaped: runs without a special byte go out whole.
void put_label_value(Out &out, const char *s) {
  const char *run = s;
  for (const char *p = s;; ++p) {
    const char c = *p;
    if (c != '\0' && c != '\\' && c != '"' && c != '\n') continue;
    out.put(run, static_cast<std::size_t>(p - run));
    if (c == '\0') return;
    out.put(c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n", 2);
    run = p + 1;
  }
}

// Exact decimal seconds of a nanosecond count: "0.000001234", "12.5".
void put_seconds(Out &out, uint64_t ns) {
  out.put_u64(ns / 1000000000u);
  uint64_t frac = ns % 1000000000u;
  if (frac == 0) return;
  char digits[10];
  digits[0] = '.';
  for (int i = 9; i >= 1; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
  std::size_t n = 10;
  while (digits[n - 1] == '0') --n;  // the fraction is not zero: stops before the point
  out.put(digits, n);
}

class Writer {
 public:
  Writer(Out &out, bool om) : out_(out), om_(om) {}

  // Starts a family. `unit` is "seconds" or "" (OpenMetrics # UNIT).
  void family(const char *name, const char *type, const char *help, const char *unit) {
    // Prometheus 0.0.4 names a counter family by its sample name (_total);
    // OpenMetrics names it without the suffix.
    const bool total = !om_ && std::strcmp(type, "counter") == 0;
    const char *const lines[] = {"# HELP ", "# TYPE ", "# UNIT "};
    const char *const tails[] = {help, type, unit};
    for (int i = 0; i < (om_ && *unit ? 3 : 2); ++i) {
      out_.put_str(lines[i]);
      out_.put_str(name);
      if (total) out_.put("_total", 6);
      out_.put(' ');
      out_.put_str(tails[i]);
      out_.put('\n');
    }
  }

  // `name{op="<op>"` or `name{op="<op>",phase="<phase>"`: a sample's start,
  // its labels still open.
  void start(const char *name, const char *suffix, const SnapOp &op, int phase) {
    out_.put_str(name);
    out_.put_str(suffix);
    out_.put("{op=\"", 5);
    put_label_value(out_, op.name);
    out_.put('"');
    if (phase >= 0) {
      out_.put(",phase=\"", 8);
      put_label_value(out_, phases::name(phase));
      out_.put('"');
    }
  }
  void counter(const char *name, const SnapOp &op, int phase, uint64_t v, bool is_time) {
    start(name, "_total", op, phase);
    out_.put("} ", 2);
    if (is_time) put_seconds(out_, v);
    else out_.put_u64(v);
    out_.put('\n');
  }

  void histogram(const char *name, const SnapOp &op, int phase, const Dist &d) {
    // Cumulative counts at most 2^k ns: 2^k closes its bucket.
    uint64_t cumulative = 0;
    int b = d.hist.first_bucket();
    for (int k = kFirstPow; k <= kLastPow; ++k) {
      const int last = Histogram::bucket_of(1ull << k);
      for (; b < d.hist.end_bucket() && b <= last; ++b) cumulative += d.hist.count_at(b);
      start(name, "_bucket", op, phase);
      out_.put(",le=\"", 5);
      put_seconds(out_, 1ull << k);
      out_.put("\"} ", 3);
      out_.put_u64(cumulative);
      out_.put('\n');
    }
    start(name, "_bucket", op, phase);
    out_.put(",le=\"+Inf\"} ", 12);
    out_.put_u64(d.count);
    out_.put('\n');
    start(name, "_sum", op, phase);
    out_.put("} ", 2);
    put_seconds(out_, d.sum);
    out_.put('\n');
    start(name, "_count", op, phase);
    out_.put("} ", 2);
    out_.put_u64(d.count);
    out_.put('\n');
  }

  void finish() {
    if (om_) out_.put("# EOF\n", 6);
  }

 private:
  Out &out_;
  bool om_;
};

}  // namespace

void format_prometheus(const Snapshot &s, bool openmetrics, Out &out) {
  Writer w(out, openmetrics);
  for (const CounterFigure &c : kCounterFigures) {
    w.family(c.prometheus, "counter", c.help, c.is_time ? "seconds" : "");
    for (const auto &op : s.ops) w.counter(c.prometheus, *op, -1, op->agg.*c.field, c.is_time);
  }
  w.family("boundarytrace_phase_entries", "counter", "Times a phase was entered.", "");
  for (const auto &op : s.ops) {
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = op->agg.phase(static_cast<int>(p));
      if (d && d->count) w.counter("boundarytrace_phase_entries", *op, static_cast<int>(p), d->entries, false);
    }
  }
  w.family("boundarytrace_operation_seconds", "histogram", "Time per operation.", "seconds");
  for (const auto &op : s.ops) w.histogram("boundarytrace_operation_seconds", *op, -1, op->agg.total);
  w.family("boundarytrace_operation_gil_wait_seconds", "histogram",
           "Time per operation spent waiting to get the GIL back, of operations that released it.", "seconds");
  for (const auto &op : s.ops) {
    if (const Dist *d = op->agg.wait(); d && d->count) w.histogram("boundarytrace_operation_gil_wait_seconds", *op, -1, *d);
  }
  w.family("boundarytrace_phase_seconds", "histogram", "Time per operation spent in a phase.", "seconds");
  for (const auto &op : s.ops) {
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = op->agg.phase(static_cast<int>(p));
      if (d && d->count) w.histogram("boundarytrace_phase_seconds", *op, static_cast<int>(p), *d);
    }
  }
  w.finish();
}

std::string format_prometheus(const Snapshot &s, bool openmetrics) {
  Out out;
  format_prometheus(s, openmetrics, out);
  return out.take();
}

}  // namespace bt
