// Prometheus protobuf exposition (io.prometheus.client.MetricFamily, each
// length-delimited): what a Prometheus server asks for with
// "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
// encoding=delimited", and the only Prometheus format that carries native
// histograms.
//
// Each distribution is one Histogram message holding both kinds at once: the
// native histogram at schema 4, bucket for bucket the core's own (lossless),
// and the classic buckets of the text format (le = 2^8 .. 2^36 ns) for a
// server that keeps classic histograms. Native bucket edges are powers of
// 2^(1/16) of the unit, so the unit is the nanosecond the core counts in:
// the histogram families are boundarytrace_operation_nanoseconds and
// boundarytrace_phase_nanoseconds (seconds would put every edge between two
// of the core's). Counters keep the names and units of the text format.
#include <cstring>
#include <vector>

#include "cpp_impl/export.hpp"
#include "cpp_impl/export_figures.hpp"
#include "cpp_impl/pb_in_place.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/protobuf_writer.hpp"

namespace bt {

namespace {

// Field numbers of io.prometheus.client (metrics.proto).
enum : uint32_t {
  kFamilyName = 1, kFamilyHelp = 2, kFamilyType = 3, kFamilyMetric = 4,
  kMetricLabel = 1, kMetricCounter = 3, kMetricHistogram = 7,
  kLabelName = 1, kLabelValue = 2,
  kCounterValue = 1,
  kHistCount = 1, kHistSum = 2, kHistBucket = 3, kHistSchema = 5, kHistZeroThreshold = 6,
  kHistZeroCount = 7, kHistPositiveSpan = 12, kHistPositiveDelta = 13,
  kBucketCount = 1, kBucketUpper = 2,
  kSpanOffset = 1, kSpanLength = 2,
};
enum : uint64_t { kTypeCounter = 0, kTypeHistogram = 4 };

constexpr int kClassicFirstPow = 8;
constexpr int kClassicLastPow = 36;

// Every message is written once, in place: its length, which comes first,
// is computed beforehand (pb::*_size, or a pass of the same writer with a
// Count), so no message is built in a string of its own and copied into
// its parent.

// Counts the bytes a writer would write (the sink of a sizing pass).
struct Count {
  std::size_t n = 0;
  Count &operator+=(char) { return ++n, *this; }
  Count &operator+=(const std::string &s) { return n += s.size(), *this; }
};

struct Label {
  const char *name, *value;
  std::size_t name_len, value_len;
  std::size_t pair_size() const {
    return pb::len_field_size(kLabelName, name_len) + pb::len_field_size(kLabelValue, value_len);
  }
};

struct Labels {
  Label l[3];
  int n = 0;
  Labels &add(const char *name, const char *value) {
    l[n++] = Label{name, value, std::strlen(name), std::strlen(value)};
    return *this;
  }
  std::size_t size() const {
    std::size_t s = 0;
    for (int i = 0; i < n; ++i) s += pb::len_field_size(kMetricLabel, l[i].pair_size());
    return s;
  }
  void write(Out &out) const {
    for (int i = 0; i < n; ++i) {
      pb::len_header(out, kMetricLabel, l[i].pair_size());
      pb::len_header(out, kLabelName, l[i].name_len);
      out.put(l[i].name, l[i].name_len);
      pb::len_header(out, kLabelValue, l[i].value_len);
      out.put(l[i].value, l[i].value_len);
    }
  }
};

constexpr std::size_t kCounterSize = pb::fixed64_field_size(kCounterValue);

// Native buckets: Prometheus' index of the bucket (2^((k-1)/16), 2^(k/16)]
// is k = i + 1 for the core's exponential index i; consecutive non-empty
// runs become spans (offset from the previous span's end), counts deltas.
// The spans come first, then the deltas (packed sint64, their length first):
// two walks over the buckets.
template <typename S>
void native_buckets(S &h, const Histogram &hist) {
  int64_t prev_count = 0;
  int32_t next_index = 0;  // the index after the previous span
  bool first = true;
  uint64_t zero = 0;
  std::size_t deltas = 0;  // bytes of the packed deltas
  const int end = hist.end_bucket();
  const auto span = [&h](int64_t offset, uint64_t length) {
    pb::len_header(h, kHistPositiveSpan,
                   pb::sint_field_size(kSpanOffset, offset) + pb::uint_field_size(kSpanLength, length));
    pb::sint_field(h, kSpanOffset, offset);
    pb::uint_field(h, kSpanLength, length);
  };
  for (int b = hist.first_bucket(); b < end;) {
    if (b == 0) {
      zero = hist.count_at(0);
      ++b;
      continue;
    }
    if (hist.count_at(b) == 0) {
      ++b;
      continue;
    }
    int run_end = b;
    while (run_end < end && hist.count_at(run_end) != 0) ++run_end;
    const int32_t index = b - Histogram::kIndexOffset + 1;
    span(first ? index : index - next_index, static_cast<uint64_t>(run_end - b));
    for (int k = b; k < run_end; ++k) {
      const int64_t c = static_cast<int64_t>(hist.count_at(k));
      deltas += pb::varint_size(pb::zigzag(c - prev_count));
      prev_count = c;
    }
    next_index = index + (run_end - b);
    first = false;
    b = run_end;
  }
  if (first) span(0, 0);  // no observation above zero: a no-op span marks it native
  if (deltas) {
    pb::len_header(h, kHistPositiveDelta, deltas);
    prev_count = 0;
    for (int b = hist.first_bucket() > 1 ? hist.first_bucket() : 1; b < end; ++b) {
      const int64_t c = static_cast<int64_t>(hist.count_at(b));
      if (c == 0) continue;
      pb::varint(h, pb::zigzag(c - prev_count));
      prev_count = c;
    }
  }
  pb::uint_field(h, kHistZeroCount, zero);
}

template <typename S>
void histogram(S &h, const Dist &d) {
  pb::uint_field(h, kHistCount, d.count);
  pb::double_field(h, kHistSum, static_cast<double>(d.sum));
  // Classic buckets: cumulative counts at most 2^k ns (powers of two close
  // the core's buckets, so each is exact).
  uint64_t cumulative = 0;
  int b = d.hist.first_bucket();
  for (int k = kClassicFirstPow; k <= kClassicLastPow; ++k) {
    const int last = Histogram::bucket_of(1ull << k);
    for (; b < d.hist.end_bucket() && b <= last; ++b) cumulative += d.hist.count_at(b);
    pb::len_header(h, kHistBucket, pb::uint_field_size(kBucketCount, cumulative) + pb::fixed64_field_size(kBucketUpper));
    pb::uint_field(h, kBucketCount, cumulative);
    pb::double_field(h, kBucketUpper, static_cast<double>(1ull << k));
  }
  pb::sint_field(h, kHistSchema, Histogram::kScale);
  pb::double_field(h, kHistZeroThreshold, 0.0);  // the zero bucket holds exactly 0 ns
  native_buckets(h, d.hist);
}

// Writes the families, each delimited (its length first), in place
// (pb_in_place.hpp): a family, its metrics and their histograms are each
// written once, with no pass to size them. A family that does not fit a
// caller's buffer is written again the other way: its histograms sized in
// a pass of their own first.
class Families {
 public:
  explicit Families(Out &out) : out_(out), w_(out) {}

  // `each(visit)` calls visit(labels, dist) for a histogram metric, or
  // visit(labels, nullptr, value) for a counter, in the order written.
  template <typename Each>
  void family(const char *name, const char *help, uint64_t type, Each each) {
    const std::size_t at = out_.size();
    w_.reset();
    const pb::InPlace::Gap g = w_.open();
    header(name, help, type);
    each([&](const Labels &ls, const Dist *d, double value = 0) {
      if (!d) return metric(ls, nullptr, 0, value);
      const pb::InPlace::Gap m = w_.open(kFamilyMetric, kMaxHistogramVarint);
      ls.write(out_);
      const pb::InPlace::Gap h = w_.open(kMetricHistogram, kMaxHistogramVarint);
      histogram(out_, *d);
      w_.close(h);
      w_.close(m);
    });
    w_.close(g);
    if (w_.whole()) return;
    out_.rewind(at);
    two_passes(name, help, type, each);
  }

 private:
  // A histogram message (and its metric) stays below 2^21 bytes: at most
  // 1040 buckets of a few bytes each.
  static constexpr std::size_t kMaxHistogramVarint = 3;

  void header(const char *name, const char *help, uint64_t type) {
    const std::size_t name_len = std::strlen(name), help_len = std::strlen(help);
    pb::len_header(out_, kFamilyName, name_len);
    out_.put(name, name_len);
    pb::len_header(out_, kFamilyHelp, help_len);
    out_.put(help, help_len);
    pb::uint_field(out_, kFamilyType, type);
  }
  // One metric; `h` is its histogram's size (when `d`).
  void metric(const Labels &ls, const Dist *d, std::size_t h, double value) {
    pb::len_header(out_, kFamilyMetric,
                   ls.size() + (d ? pb::len_field_size(kMetricHistogram, h)
                                  : pb::len_field_size(kMetricCounter, kCounterSize)));
    ls.write(out_);
    if (d) {
      pb::len_header(out_, kMetricHistogram, h);
      histogram(out_, *d);
    } else {
      pb::len_header(out_, kMetricCounter, kCounterSize);
      pb::double_field(out_, kCounterValue, value);
    }
  }
  // The family sized first (every histogram read twice), then written.
  template <typename Each>
  void two_passes(const char *name, const char *help, uint64_t type, Each each) {
    std::size_t body = pb::len_field_size(kFamilyName, std::strlen(name)) +
                       pb::len_field_size(kFamilyHelp, std::strlen(help)) + pb::uint_field_size(kFamilyType, type);
    hist_sizes_.clear();
    each([&](const Labels &ls, const Dist *d, double = 0) {
      std::size_t m = ls.size();
      if (d) {
        Count c;
        histogram(c, *d);
        hist_sizes_.push_back(c.n);
        m += pb::len_field_size(kMetricHistogram, c.n);
      } else {
        m += pb::len_field_size(kMetricCounter, kCounterSize);
      }
      body += pb::len_field_size(kFamilyMetric, m);
    });
    pb::varint(out_, body);
    header(name, help, type);
    std::size_t i = 0;
    each([&](const Labels &ls, const Dist *d, double value = 0) { metric(ls, d, d ? hist_sizes_[i++] : 0, value); });
  }

 private:
  Out &out_;
  pb::InPlace w_;
  std::vector<std::size_t> hist_sizes_;  // of one family's histograms, from its sizing pass (two_passes)
};

}  // namespace

void format_prometheus_protobuf(const Snapshot &s, Out &out) {
  Families f(out);
  const auto op_labels = [](const SnapOp &op) { return Labels().add("op", op.name); };
  for (const CounterFigure &c : kCounterFigures) {
    f.family((std::string(c.prometheus) + "_total").c_str(), c.help, kTypeCounter, [&](auto &&visit) {
      for (const auto &op : s.ops) {
        const uint64_t v = op->agg.*c.field;
        visit(op_labels(*op), nullptr, c.is_time ? static_cast<double>(v) / 1e9 : static_cast<double>(v));
      }
    });
  }
  f.family("boundarytrace_phase_entries_total", "Times a phase was entered.", kTypeCounter, [&](auto &&visit) {
    for (const auto &op : s.ops) {
      for (uint32_t p = 0; p < s.phase_count; ++p) {
        const Dist *d = op->agg.phase(static_cast<int>(p));
        if (d && d->count)
          visit(op_labels(*op).add("phase", phases::name(static_cast<int>(p))), nullptr,
                static_cast<double>(d->entries));
      }
    }
  });
  f.family("boundarytrace_operation_nanoseconds", "Time per operation, in nanoseconds.", kTypeHistogram,
           [&](auto &&visit) {
             for (const auto &op : s.ops) visit(op_labels(*op), &op->agg.total);
           });
  f.family("boundarytrace_operation_gil_wait_nanoseconds",
           "Time per operation spent waiting to get the GIL back, of operations that released it, in nanoseconds.",
           kTypeHistogram, [&](auto &&visit) {
             for (const auto &op : s.ops) {
               if (const Dist *d = op->agg.wait(); d && d->count) visit(op_labels(*op), d);
             }
           });
  f.family("boundarytrace_phase_nanoseconds", "Time per operation spent in a phase, in nanoseconds.", kTypeHistogram,
           [&](auto &&visit) {
             for (const auto &op : s.ops) {
               for (uint32_t p = 0; p < s.phase_count; ++p) {
                 const Dist *d = op->agg.phase(static_cast<int>(p));
                 if (d && d->count)
                   visit(op_labels(*op)
                             .add("phase", phases::name(static_cast<int>(p)))
                             .add("gil", phases::gil_held(static_cast<int>(p)) ? "held" : "released"),
                         d);
               }
             }
           });
}

std::string format_prometheus_protobuf(const Snapshot &s) {
  Out out;
  format_prometheus_protobuf(s, out);
  return out.take();
}

}  // namespace bt
