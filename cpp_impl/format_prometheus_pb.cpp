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
#include "cpp_impl/export.hpp"
#include "cpp_impl/export_figures.hpp"
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

struct Label {
  const char *name, *value;
};

std::string labels(std::initializer_list<Label> ls) {
  std::string out;
  for (const Label &l : ls) {
    std::string pair;
    pb::bytes_field(pair, kLabelName, l.name);
    pb::bytes_field(pair, kLabelValue, l.value);
    pb::bytes_field(out, kMetricLabel, pair);
  }
  return out;
}

std::string counter_metric(const std::string &label_bytes, double value) {
  std::string c, m = label_bytes;
  pb::double_field(c, kCounterValue, value);
  pb::bytes_field(m, kMetricCounter, c);
  return m;
}

// Native buckets: Prometheus' index of the bucket (2^((k-1)/16), 2^(k/16)]
// is k = i + 1 for the core's exponential index i; consecutive non-empty
// runs become spans (offset from the previous span's end), counts deltas.
void native_buckets(std::string &h, const Histogram &hist) {
  std::string deltas;
  int64_t prev_count = 0;
  int32_t next_index = 0;  // the index after the previous span
  bool first = true;
  uint64_t zero = 0;
  const int end = hist.end_bucket();
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
    std::string span;
    pb::sint_field(span, kSpanOffset, first ? index : index - next_index);
    pb::uint_field(span, kSpanLength, static_cast<uint64_t>(run_end - b));
    pb::bytes_field(h, kHistPositiveSpan, span);
    for (int k = b; k < run_end; ++k) {
      const int64_t c = static_cast<int64_t>(hist.count_at(k));
      pb::varint(deltas, pb::zigzag(c - prev_count));
      prev_count = c;
    }
    next_index = index + (run_end - b);
    first = false;
    b = run_end;
  }
  if (first) {  // no observation above zero: a no-op span marks it native
    std::string span;
    pb::sint_field(span, kSpanOffset, 0);
    pb::uint_field(span, kSpanLength, 0);
    pb::bytes_field(h, kHistPositiveSpan, span);
  }
  if (!deltas.empty()) pb::bytes_field(h, kHistPositiveDelta, deltas);  // packed sint64
  pb::uint_field(h, kHistZeroCount, zero);
}

std::string histogram_metric(const std::string &label_bytes, const Dist &d) {
  std::string h;
  pb::uint_field(h, kHistCount, d.count);
  pb::double_field(h, kHistSum, static_cast<double>(d.sum));
  // Classic buckets: cumulative counts at most 2^k ns (powers of two close
  // the core's buckets, so each is exact).
  uint64_t cumulative = 0;
  int b = d.hist.first_bucket();
  for (int k = kClassicFirstPow; k <= kClassicLastPow; ++k) {
    const int last = Histogram::bucket_of(1ull << k);
    for (; b < d.hist.end_bucket() && b <= last; ++b) cumulative += d.hist.count_at(b);
    std::string bucket;
    pb::uint_field(bucket, kBucketCount, cumulative);
    pb::double_field(bucket, kBucketUpper, static_cast<double>(1ull << k));
    pb::bytes_field(h, kHistBucket, bucket);
  }
  pb::sint_field(h, kHistSchema, Histogram::kScale);
  pb::double_field(h, kHistZeroThreshold, 0.0);  // the zero bucket holds exactly 0 ns
  native_buckets(h, d.hist);
  std::string m = label_bytes;
  pb::bytes_field(m, kMetricHistogram, h);
  return m;
}

class Families {
 public:
  void begin(const char *name, const char *help, uint64_t type) {
    fam_.clear();
    pb::bytes_field(fam_, kFamilyName, name);
    pb::bytes_field(fam_, kFamilyHelp, help);
    pb::uint_field(fam_, kFamilyType, type);
  }
  void metric(const std::string &m) { pb::bytes_field(fam_, kFamilyMetric, m); }
  void end() {
    pb::varint(out_, fam_.size());  // delimited: each family after its length
    out_ += fam_;
  }
  std::string finish() { return std::move(out_); }

 private:
  std::string fam_, out_;
};

}  // namespace

std::string format_prometheus_protobuf(const Snapshot &s) {
  Families f;
  for (const CounterFigure &c : kCounterFigures) {
    f.begin((std::string(c.prometheus) + "_total").c_str(), c.help, kTypeCounter);
    for (const auto &op : s.ops) {
      const uint64_t v = op->agg.*c.field;
      f.metric(counter_metric(labels({{"op", op->name}}), c.is_time ? static_cast<double>(v) / 1e9
                                                                     : static_cast<double>(v)));
    }
    f.end();
  }
  f.begin("boundarytrace_phase_entries_total", "Times a phase was entered.", kTypeCounter);
  for (const auto &op : s.ops) {
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = op->agg.phase(static_cast<int>(p));
      if (d && d->count)
        f.metric(counter_metric(labels({{"op", op->name}, {"phase", phases::name(static_cast<int>(p))}}),
                                static_cast<double>(d->entries)));
    }
  }
  f.end();
  f.begin("boundarytrace_operation_nanoseconds", "Time per operation, in nanoseconds.", kTypeHistogram);
  for (const auto &op : s.ops) f.metric(histogram_metric(labels({{"op", op->name}}), op->agg.total));
  f.end();
  f.begin("boundarytrace_operation_gil_wait_nanoseconds",
          "Time per operation spent waiting to get the GIL back, of operations that released it, in nanoseconds.",
          kTypeHistogram);
  for (const auto &op : s.ops) {
    if (const Dist *d = op->agg.wait(); d && d->count) f.metric(histogram_metric(labels({{"op", op->name}}), *d));
  }
  f.end();
  f.begin("boundarytrace_phase_nanoseconds", "Time per operation spent in a phase, in nanoseconds.", kTypeHistogram);
  for (const auto &op : s.ops) {
    for (uint32_t p = 0; p < s.phase_count; ++p) {
      const Dist *d = op->agg.phase(static_cast<int>(p));
      if (d && d->count)
        f.metric(histogram_metric(
            labels({{"op", op->name},
                    {"phase", phases::name(static_cast<int>(p))},
                    {"gil", phases::gil_held(static_cast<int>(p)) ? "held" : "released"}}),
            *d));
    }
  }
  f.end();
  return f.finish();
}

}  // namespace bt
