// OTLP metrics (opentelemetry.proto.collector.metrics.v1.ExportMetricsService-
// Request), protobuf: what an OpenTelemetry Collector's OTLP/HTTP receiver
// takes at /v1/metrics with Content-Type application/x-protobuf.
//
// Counters become monotonic integer Sums; each distribution an
// ExponentialHistogram at scale 4, bucket for bucket the core's (OTLP's
// positive bucket i is (2^(i/16), 2^((i+1)/16)], the core's i), with count,
// sum, min, max and the zero bucket, in nanoseconds ("ns"). Attributes: `op`,
// and on phases `phase` and `gil` (held / released). A cumulative snapshot
// is CUMULATIVE from its start; an interval of a take is DELTA. Times are
// moved from the monotonic time line to Unix time with the offset the snapshot
// recorded.
#include "cpp_impl/export.hpp"
#include "cpp_impl/export_figures.hpp"
#include "cpp_impl/otlp_resource.hpp"
#include "cpp_impl/pb_in_place.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/protobuf_writer.hpp"

namespace bt {

namespace {

// Field numbers of opentelemetry-proto (metrics/v1, common/v1, resource/v1).
enum : uint32_t {
  kRequestResourceMetrics = 1,
  kResourceMetricsResource = 1, kResourceMetricsScope = 2,
  kResourceAttributes = 1,
  kScopeMetricsScope = 1, kScopeMetricsMetrics = 2,
  kScopeName = 1,
  kMetricName = 1, kMetricDescription = 2, kMetricUnit = 3, kMetricSum = 7, kMetricExpHistogram = 10,
  kSumPoints = 1, kSumTemporality = 2, kSumMonotonic = 3,
  kNumberAttributes = 7, kNumberStart = 2, kNumberTime = 3, kNumberAsInt = 6,
  kExpPoints = 1, kExpTemporality = 2,
  kExpAttributes = 1, kExpStart = 2, kExpTime = 3, kExpCount = 4, kExpSum = 5, kExpScale = 6,
  kExpZeroCount = 7, kExpPositive = 8, kExpMin = 12, kExpMax = 13, kExpZeroThreshold = 14,
  kBucketsOffset = 1, kBucketsCounts = 2,
  kKeyValueKey = 1, kKeyValueValue = 2,
  kAnyString = 1, kAnyInt = 3,
};
enum : uint64_t { kDelta = 1, kCumulative = 2 };

struct Times {
  uint64_t start_unix_ns, end_unix_ns;
  uint64_t temporality;
};

// The snapshot's monotonic start and end as Unix time, with the offset the
// snapshot recorded when it was made (so an export is the same bytes each time).
Times times_of(const Snapshot &s) {
  auto to_unix = [&](uint64_t t) {
    const int64_t u = static_cast<int64_t>(t) + s.unix_offset_ns;
    return u > 0 ? static_cast<uint64_t>(u) : 0;
  };
  return Times{to_unix(s.start_ns), to_unix(s.end_ns), s.interval ? kDelta : kCumulative};
}

// Written in place (pb_in_place.hpp): no message built in a string and
// copied into its parent.
class InPlaceOtlp {
 public:
  InPlaceOtlp(const Snapshot &s, Out &out) : s_(s), out_(out), w_(out), t_(times_of(s)) {}

  bool write() {
    const pb::InPlace::Gap request = w_.open(kRequestResourceMetrics);
    const pb::InPlace::Gap resource = w_.open(kResourceMetricsResource);
    for (const ResourceAttr &a : otlp_resource(s_)) {
      if (a.is_int) {
        int_attr(kResourceAttributes, a.key.c_str(), a.number);
      } else {
        str_attr(kResourceAttributes, a.key.c_str(), a.text.c_str());
      }
    }
    w_.close(resource);
    const pb::InPlace::Gap scope_metrics = w_.open(kResourceMetricsScope);
    const pb::InPlace::Gap scope = w_.open(kScopeMetricsScope);
    str_field(kScopeName, "boundarytrace");
    w_.close(scope);
    metrics();
    w_.close(scope_metrics);
    w_.close(request);
    return w_.whole();
  }

 private:
  // A histogram point stays below 2^21 bytes (1040 buckets of a few bytes).
  static constexpr std::size_t kPointVarint = 3;

  void str_field(uint32_t field, const char *v) {
    const std::size_t n = std::strlen(v);
    pb::len_header(out_, field, n);
    out_.put(v, n);
  }
  // KeyValue{key, AnyValue{string_value | int_value}}, its size known ahead.
  void str_attr(uint32_t field, const char *key, const char *value) {
    const std::size_t k = std::strlen(key), v = std::strlen(value);
    const std::size_t any = pb::len_field_size(kAnyString, v);
    pb::len_header(out_, field, pb::len_field_size(kKeyValueKey, k) + pb::len_field_size(kKeyValueValue, any));
    str_field(kKeyValueKey, key);
    pb::len_header(out_, kKeyValueValue, any);
    str_field(kAnyString, value);
  }
  void int_attr(uint32_t field, const char *key, int64_t value) {
    const std::size_t k = std::strlen(key);
    const std::size_t any = pb::uint_field_size(kAnyInt, static_cast<uint64_t>(value));
    pb::len_header(out_, field, pb::len_field_size(kKeyValueKey, k) + pb::len_field_size(kKeyValueValue, any));
    str_field(kKeyValueKey, key);
    pb::len_header(out_, kKeyValueValue, any);
    pb::uint_field(out_, kAnyInt, static_cast<uint64_t>(value));
  }
  void attrs(uint32_t field, const SnapOp &op, int phase) {
    str_attr(field, "op", op.name);
    if (phase < 0) return;
    str_attr(field, "phase", phases::name(phase));
    str_attr(field, "gil", phases::gil_held(phase) ? "held" : "released");
  }

  void number_point(const SnapOp &op, int phase, uint64_t value) {
    const pb::InPlace::Gap p = w_.open(kSumPoints, kPointVarint);
    attrs(kNumberAttributes, op, phase);
    pb::fixed64_field(out_, kNumberStart, t_.start_unix_ns);
    pb::fixed64_field(out_, kNumberTime, t_.end_unix_ns);
    pb::fixed64_field(out_, kNumberAsInt, value > INT64_MAX ? INT64_MAX : value);  // sfixed64
    w_.close(p);
  }
  void histogram_point(const SnapOp &op, int phase, const Dist &d) {
    const pb::InPlace::Gap p = w_.open(kExpPoints, kPointVarint);
    attrs(kExpAttributes, op, phase);
    pb::fixed64_field(out_, kExpStart, t_.start_unix_ns);
    pb::fixed64_field(out_, kExpTime, t_.end_unix_ns);
    pb::fixed64_field(out_, kExpCount, d.count);
    pb::double_field(out_, kExpSum, static_cast<double>(d.sum));
    pb::sint_field(out_, kExpScale, Histogram::kScale);
    const Histogram &h = d.hist;
    pb::fixed64_field(out_, kExpZeroCount, h.count_at(0));
    int first = -1, last = -1;
    for (int b = h.first_bucket() > 0 ? h.first_bucket() : 1; b < h.end_bucket(); ++b) {
      if (h.count_at(b) == 0) continue;
      if (first < 0) first = b;
      last = b;
    }
    if (first >= 0) {
      const pb::InPlace::Gap buckets = w_.open(kExpPositive, kPointVarint);
      pb::sint_field(out_, kBucketsOffset, first - Histogram::kIndexOffset);
      const pb::InPlace::Gap counts = w_.open(kBucketsCounts, kPointVarint);  // packed uint64
      for (int b = first; b <= last; ++b) pb::varint(out_, h.count_at(b));
      w_.close(counts);
      w_.close(buckets);
    }
    if (d.count) {
      pb::double_field(out_, kExpMin, static_cast<double>(d.min_or_zero()));
      pb::double_field(out_, kExpMax, static_cast<double>(d.max));
    }
    pb::double_field(out_, kExpZeroThreshold, 0.0);
    w_.close(p);
  }

  // One metric: `points()` writes its points and says whether there was any
  // (`always`: the metric is written even without).
  template <typename Points>
  void metric(const char *name, const char *description, const char *unit, bool histogram, bool always,
              Points points) {
    const std::size_t at = out_.size();
    const pb::InPlace::Gap m = w_.open(kScopeMetricsMetrics);
    str_field(kMetricName, name);
    str_field(kMetricDescription, description);
    str_field(kMetricUnit, unit);
    const pb::InPlace::Gap data = w_.open(histogram ? kMetricExpHistogram : kMetricSum);
    if (!points() && !always) {
      out_.rewind(at);
      return;
    }
    pb::uint_field(out_, histogram ? kExpTemporality : kSumTemporality, t_.temporality);
    if (!histogram) pb::uint_field(out_, kSumMonotonic, 1);
    w_.close(data);
    w_.close(m);
  }

  void metrics() {
    for (const CounterFigure &c : kCounterFigures) {
      metric(c.otel, c.help, c.otel_unit, false, true, [&] {
        for (const auto &op : s_.ops) number_point(*op, -1, op->agg.*c.field);
        return true;
      });
    }
    metric("boundarytrace.phase.entries", "Times a phase was entered.", "{entry}", false, true, [&] {
      for (const auto &op : s_.ops) {
        for (uint32_t p = 0; p < s_.phase_count; ++p) {
          const Dist *d = op->agg.phase(static_cast<int>(p));
          if (d && d->count) number_point(*op, static_cast<int>(p), d->entries);
        }
      }
      return true;
    });
    metric("boundarytrace.operation.duration", "Time per operation.", "ns", true, true, [&] {
      for (const auto &op : s_.ops) histogram_point(*op, -1, op->agg.total);
      return true;
    });
    // No metric without points: nothing released the GIL.
    metric("boundarytrace.operation.gil_wait",
           "Time per operation spent waiting to get the GIL back, of operations that released it.", "ns", true,
           false, [&] {
             bool any = false;
             for (const auto &op : s_.ops) {
               const Dist *d = op->agg.wait();
               if (!d || !d->count) continue;
               histogram_point(*op, -1, *d);
               any = true;
             }
             return any;
           });
    metric("boundarytrace.phase.duration", "Time per operation spent in a phase.", "ns", true, true, [&] {
      for (const auto &op : s_.ops) {
        for (uint32_t p = 0; p < s_.phase_count; ++p) {
          const Dist *d = op->agg.phase(static_cast<int>(p));
          if (d && d->count) histogram_point(*op, static_cast<int>(p), *d);
        }
      }
      return true;
    });
  }

  const Snapshot &s_;
  Out &out_;
  pb::InPlace w_;
  const Times t_;
};

}  // namespace

// Storage of its own grows, so every length goes in place there.
std::string format_otlp(const Snapshot &s) {
  Out own;
  InPlaceOtlp(s, own).write();
  return own.take();
}

// Into a caller's buffer too small for the export, a length past its end
// cannot go in place: then written into storage of its own and copied.
void format_otlp(const Snapshot &s, Out &out) {
  const std::size_t at = out.size();
  if (InPlaceOtlp(s, out).write()) return;
  out.rewind(at);
  out.put(format_otlp(s));
}

}  // namespace bt
