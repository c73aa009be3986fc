// Folded stacks for flame-graph tools (flamegraph.pl, speedscope, inferno):
// one line per operation and phase, "op;phase nanoseconds", plus the
// operation's GIL wait and unattributed time, so the frames add up to the total.
#include "cpp_impl/export.hpp"
#include "cpp_impl/phase_table.hpp"

namespace bt {

namespace {
// ';' separates frames and the last ' ' the count: keep both out of names.
std::string frame(const char *name) {
  std::string out = name;
  for (char &c : out) {
    if (c == ';' || c == ' ') c = '_';
  }
  return out;
}
}  // namespace

std::string format_folded(const Snapshot &s) {
  std::string out;
  for (const auto &op : s.ops) {
    const OpAgg &a = op->agg;
    if (a.count == 0) continue;
    std::string base = frame(op->name);
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = a.phase(static_cast<int>(p));
      if (!d || d->sum == 0) continue;
      out += base + ';' + frame(phases::name(static_cast<int>(p))) + ' ' + std::to_string(d->sum) + '\n';
    }
    if (a.gil_wait_ns) out += base + ";GIL_wait " + std::to_string(a.gil_wait_ns) + '\n';
    if (a.unattributed_ns) out += base + ";unattributed " + std::to_string(a.unattributed_ns) + '\n';
  }
  return out;
}

}  // namespace bt
