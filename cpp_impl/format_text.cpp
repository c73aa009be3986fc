#include "cpp_impl/format_text.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <vector>

#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {

void appendf(std::string &out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string &out, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out.append(buf, static_cast<size_t>(n));
    return;
  }
  std::string big(static_cast<size_t>(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(&big[0], big.size(), fmt, ap);
  va_end(ap);
  big.resize(static_cast<size_t>(n));
  out += big;
}

// Width in terminal columns of UTF-8 text (one per code point).
size_t columns(const std::string &s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Right-aligns `s` in `width` columns.
std::string rpad(const std::string &s, size_t width) {
  size_t w = columns(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

std::string lpad(const std::string &s, size_t width) {
  size_t w = columns(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::string percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

const char *gil_word(int phase) { return phases::gil_held(phase) ? "held" : "released"; }

}  // namespace

std::string format_duration(uint64_t ns) {
  char buf[32];
  double v = static_cast<double>(ns);
  if (ns < 1000) std::snprintf(buf, sizeof buf, "%llu ns", static_cast<unsigned long long>(ns));
  else if (ns < 1000000) std::snprintf(buf, sizeof buf, "%.*f µs", v < 1e4 ? 2 : 1, v / 1e3);
  else if (ns < 1000000000) std::snprintf(buf, sizeof buf, "%.*f ms", v < 1e7 ? 2 : 1, v / 1e6);
  else std::snprintf(buf, sizeof buf, "%.3f s", v / 1e9);
  return buf;
}

std::string format_timing(const Timing &t) {
  std::string out;
  appendf(out, "%s: %llu items in %s", t.op_name ? t.op_name : "(unnamed)",
          static_cast<unsigned long long>(t.items), format_duration(t.total_ns).c_str());
  if (t.items) appendf(out, " (%s/item)", format_duration(t.total_ns / t.items).c_str());
  if (t.workers) appendf(out, ", %u worker%s", t.workers, t.workers == 1 ? "" : "s");
  if (t.flags & kFlagError) out += ", ERROR";
  if (t.flags & kFlagLeftOpen) out += ", phase left open";
  out += '\n';
  for (uint32_t p = 0; p < t.phase_count && p < static_cast<uint32_t>(kMaxPhases); ++p) {
    if (!(t.touched & (1u << p))) continue;
    std::string name = phases::name(static_cast<int>(p));
    appendf(out, "  %s GIL %-9s%s %s  %u entr%s\n", lpad(name, 13).c_str(), gil_word(static_cast<int>(p)),
            rpad(format_duration(t.phase_ns[p]), 11).c_str(), rpad(percent(t.phase_ns[p], t.total_ns), 6).c_str(),
            t.phase_entries[p], t.phase_entries[p] == 1 ? "y" : "ies");
  }
  if (t.gil_releases || t.gil_wait_ns)
    appendf(out, "  %s %13s%s %s  %u release%s\n", lpad("GIL wait", 13).c_str(), "",
            rpad(format_duration(t.gil_wait_ns), 11).c_str(), rpad(percent(t.gil_wait_ns, t.total_ns), 6).c_str(),
            t.gil_releases, t.gil_releases == 1 ? "" : "s");
  appendf(out, "  %s %13s%s %s\n", lpad("unattributed", 13).c_str(), "",
          rpad(format_duration(t.unattributed_ns), 11).c_str(),
          rpad(percent(t.unattributed_ns, t.total_ns), 6).c_str());
  appendf(out, "  %s %13s%s\n", lpad("total", 13).c_str(), "", rpad(format_duration(t.total_ns), 11).c_str());
  appendf(out, "  GIL held %s, released %s, wait %s over %u release%s\n",
          percent(t.gil_held_ns, t.total_ns).c_str(), percent(t.gil_released_ns, t.total_ns).c_str(),
          format_duration(t.gil_wait_ns).c_str(), t.gil_releases, t.gil_releases == 1 ? "" : "s");
  return out;
}

namespace {

// The phase table of one operation. Columns keep their usual widths and
// widen, for this table only, when a figure needs more, so neighbouring
// columns always stay at least one space apart (sums near 2^64 ns, i.e.
// 10^10 s, included).
class PhaseTable {
 public:
  // The figures after the label and the GIL word: time, share, entries,
  // mean, p50, p90, p99, p99.9, max. A row may stop after the share.
  static constexpr std::size_t kCells = 9;

  void add(const std::string &label, const std::string &gil, std::vector<std::string> cells,
           const std::string &note = "") {
    rows_.push_back(Row{label, gil, std::move(cells), note});
  }

  void dist(const std::string &label, const std::string &gil, const Dist &d, uint64_t op_total_ns) {
    add(label, gil,
        {format_duration(d.sum), percent(d.sum, op_total_ns), std::to_string(d.entries),
         format_duration(d.count ? d.sum / d.count : 0), format_duration(d.quantile(0.5)),
         format_duration(d.quantile(0.9)), format_duration(d.quantile(0.99)), format_duration(d.quantile(0.999)),
         format_duration(d.max)});
  }

  void render(std::string &out) const {
    static const char *const kHead[kCells] = {"time", "share", "entries", "mean", "p50",
                                              "p90",  "p99",   "p99.9",   "max"};
    // Usual widths. The share and the entries have a space before them;
    // every other figure follows a column that may fill its width, so it
    // needs one of its own.
    std::size_t width[kCells] = {11, 6, 8, 10, 10, 10, 10, 10, 10};
    std::vector<std::string> head(kHead, kHead + kCells);
    for (std::size_t c = 0; c < kCells; ++c) {
      const std::size_t gap = spaced(c) ? 0 : 1;
      width[c] = std::max(width[c], columns(head[c]) + gap);
      for (const Row &r : rows_) {
        if (c < r.cells.size()) width[c] = std::max(width[c], columns(r.cells[c]) + gap);
      }
    }
    line(out, "phase", "GIL", head, width, true);
    out += '\n';
    for (const Row &r : rows_) {
      line(out, r.label, r.gil, r.cells, width, false);
      out += r.note;
      out += '\n';
    }
  }

 private:
  struct Row {
    std::string label, gil;
    std::vector<std::string> cells;
    std::string note;
  };

  // The share and the entries follow a space of their own.
  static bool spaced(std::size_t c) { return c == 1 || c == 2; }

  // The header's "share" takes the space after it, so it ends one column
  // right of its figures (the report's layout from the start, which the
  // CLI's report repeats).
  static void line(std::string &out, const std::string &label, const std::string &gil,
                   const std::vector<std::string> &cells, const std::size_t *width, bool header) {
    out += "  " + lpad(label, 13) + " " + lpad(gil, 8);
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c == 1 || (c == 2 && !header)) out += ' ';
      out += rpad(cells[c], width[c] + (header && c == 1 ? 1 : 0));
    }
  }

  std::vector<Row> rows_;
};

}  // namespace

std::string format_snapshot(const Snapshot &s) {
  std::string out;
  appendf(out, "boundarytrace: %zu operation%s over %s\n", s.ops.size(), s.ops.size() == 1 ? "" : "s",
          format_duration(s.end_ns > s.start_ns ? s.end_ns - s.start_ns : 0).c_str());
  if (s.processes || s.dropped || !s.skipped.empty())  // merged from a shared directory
    appendf(out, "shared directory: %u process%s merged, %llu record%s dropped, %zu file%s skipped\n",
            s.processes, s.processes == 1 ? "" : "es", static_cast<unsigned long long>(s.dropped),
            s.dropped == 1 ? "" : "s", s.skipped.size(), s.skipped.size() == 1 ? "" : "s");
  for (const auto &op : s.ops) {
    const OpAgg &a = op->agg;
    appendf(out, "\n%s: %llu op%s, %llu error%s, %llu items", op->name, static_cast<unsigned long long>(a.count),
            a.count == 1 ? "" : "s", static_cast<unsigned long long>(a.errors), a.errors == 1 ? "" : "s",
            static_cast<unsigned long long>(a.items));
    if (a.items) appendf(out, " (%s/item)", format_duration(a.total.sum / a.items).c_str());
    if (a.workers_max > 1)
      appendf(out, ", up to %u workers (%llu parallel op%s)", a.workers_max,
              static_cast<unsigned long long>(a.parallel_ops), a.parallel_ops == 1 ? "" : "s");
    if (a.left_open) appendf(out, ", %llu left a phase open", static_cast<unsigned long long>(a.left_open));
    out += '\n';
    if (a.saturated) out += "  (sums reached 2^64 - 1 ns and stopped: times and shares are lower bounds)\n";
    if (a.count == 0) continue;
    PhaseTable table;
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = a.phase(static_cast<int>(p));
      if (!d || d->count == 0) continue;
      table.dist(phases::name(static_cast<int>(p)), gil_word(static_cast<int>(p)), *d, a.total.sum);
    }
    // The wait to get the GIL back, measured between phases: its own row,
    // so it is not hidden in the unattributed time. Its entries are the
    // releases; its percentiles are per operation that released the GIL.
    if (const Dist *w = a.wait(); w && w->count) table.dist("GIL wait", "", *w, a.total.sum);
    table.add("unattributed", "", {format_duration(a.unattributed_ns), percent(a.unattributed_ns, a.total.sum)});
    table.dist("total", "", a.total, a.total.sum);
    table.render(out);
    // Shares of a saturated total mean nothing: the times (lower bounds) instead.
    const auto share = [&a](uint64_t ns) { return a.saturated ? format_duration(ns) : percent(ns, a.total.sum); };
    appendf(out, "  GIL held %s, released %s, wait %s over %llu release%s\n",
            share(a.gil_held_ns).c_str(), share(a.gil_released_ns).c_str(),
            format_duration(a.gil_wait_ns).c_str(), static_cast<unsigned long long>(a.gil_releases),
            a.gil_releases == 1 ? "" : "s");
  }
  return out;
}

}  // namespace bt
