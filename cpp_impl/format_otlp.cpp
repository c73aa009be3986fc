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
#include <unistd.h>

#include <cstdlib>

#include "cpp_impl/export.hpp"
#include "cpp_impl/export_figures.hpp"
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

std::string string_attr(const char *key, const char *value) {
  std::string any, kv;
  pb::bytes_field(any, kAnyString, value);
  pb::bytes_field(kv, kKeyValueKey, key);
  pb::bytes_field(kv, kKeyValueValue, any);
  return kv;
}

std::string int_attr(const char *key, int64_t value) {
  std::string any, kv;
  pb::uint_field(any, kAnyInt, static_cast<uint64_t>(value));
  pb::bytes_field(kv, kKeyValueKey, key);
  pb::bytes_field(kv, kKeyValueValue, any);
  return kv;
}

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

class Metric {
 public:
  Metric(const char *name, const char *description, const char *unit) {
    pb::bytes_field(head_, kMetricName, name);
    pb::bytes_field(head_, kMetricDescription, description);
    pb::bytes_field(head_, kMetricUnit, unit);
  }
  void point(const std::string &attrs, const Times &t, uint64_t value) {
    std::string p = attrs;
    pb::fixed64_field(p, kNumberStart, t.start_unix_ns);
    pb::fixed64_field(p, kNumberTime, t.end_unix_ns);
    pb::fixed64_field(p, kNumberAsInt, value > INT64_MAX ? INT64_MAX : value);  // sfixed64
    pb::bytes_field(points_, kSumPoints, p);
  }
  void histogram_point(const std::string &attrs, const Times &t, const Dist &d) {
    std::string p = attrs;
    pb::fixed64_field(p, kExpStart, t.start_unix_ns);
    pb::fixed64_field(p, kExpTime, t.end_unix_ns);
    pb::fixed64_field(p, kExpCount, d.count);
    pb::double_field(p, kExpSum, static_cast<double>(d.sum));
    pb::sint_field(p, kExpScale, Histogram::kScale);
    const Histogram &h = d.hist;
    pb::fixed64_field(p, kExpZeroCount, h.count_at(0));
    // Positive buckets: one run from the first to the last non-empty one.
    int first = -1, last = -1;
    for (int b = h.first_bucket() > 0 ? h.first_bucket() : 1; b < h.end_bucket(); ++b) {
      if (h.count_at(b) == 0) continue;
      if (first < 0) first = b;
      last = b;
    }
    if (first >= 0) {
      std::string buckets, counts;
      pb::sint_field(buckets, kBucketsOffset, first - Histogram::kIndexOffset);
      for (int b = first; b <= last; ++b) pb::varint(counts, h.count_at(b));
      pb::bytes_field(buckets, kBucketsCounts, counts);  // packed uint64
      pb::bytes_field(p, kExpPositive, buckets);
    }
    if (d.count) {
      pb::double_field(p, kExpMin, static_cast<double>(d.min_or_zero()));
      pb::double_field(p, kExpMax, static_cast<double>(d.max));
    }
    pb::double_field(p, kExpZeroThreshold, 0.0);
    pb::bytes_field(points_, kExpPoints, p);
  }
  // The metric as a monotonic Sum or an ExponentialHistogram.
  std::string sum(uint64_t temporality) {
    std::string data = points_;
    pb::uint_field(data, kSumTemporality, temporality);
    pb::uint_field(data, kSumMonotonic, 1);
    std::string m = head_;
    pb::bytes_field(m, kMetricSum, data);
    return m;
  }
  std::string exponential_histogram(uint64_t temporality) {
    std::string data = points_;
    pb::uint_field(data, kExpTemporality, temporality);
    std::string m = head_;
    pb::bytes_field(m, kMetricExpHistogram, data);
    return m;
  }

 private:
  std::string head_, points_;
};

}  // namespace

std::string format_otlp(const Snapshot &s) {
  const Times t = times_of(s);
  std::string metrics;
  auto attr_op = [](const SnapOp &op) {
    std::string a;
    pb::bytes_field(a, kNumberAttributes, string_attr("op", op.name));
    return a;
  };
  for (const CounterFigure &c : kCounterFigures) {
    Metric m(c.otel, c.help, c.otel_unit);
    for (const auto &op : s.ops) m.point(attr_op(*op), t, op->agg.*c.field);
    pb::bytes_field(metrics, kScopeMetricsMetrics, m.sum(t.temporality));
  }
  auto phase_attrs = [](uint32_t field, const SnapOp &op, uint32_t p) {
    std::string a;
    pb::bytes_field(a, field, string_attr("op", op.name));
    pb::bytes_field(a, field, string_attr("phase", phases::name(static_cast<int>(p))));
    pb::bytes_field(a, field, string_attr("gil", phases::gil_held(static_cast<int>(p)) ? "held" : "released"));
    return a;
  };
  {
    Metric m("boundarytrace.phase.entries", "Times a phase was entered.", "{entry}");
    for (const auto &op : s.ops) {
      for (uint32_t p = 0; p < s.phase_count; ++p) {
        const Dist *d = op->agg.phase(static_cast<int>(p));
        if (d && d->count) m.point(phase_attrs(kNumberAttributes, *op, p), t, d->entries);
      }
    }
    pb::bytes_field(metrics, kScopeMetricsMetrics, m.sum(t.temporality));
  }
  {
    Metric m("boundarytrace.operation.duration", "Time per operation.", "ns");
    for (const auto &op : s.ops) {
      std::string a;
      pb::bytes_field(a, kExpAttributes, string_attr("op", op->name));
      m.histogram_point(a, t, op->agg.total);
    }
    pb::bytes_field(metrics, kScopeMetricsMetrics, m.exponential_histogram(t.temporality));
  }
  {
    Metric m("boundarytrace.operation.gil_wait",
             "Time per operation spent waiting to get the GIL back, of operations that released it.", "ns");
    bool any = false;  // no metric without points: nothing released the GIL
    for (const auto &op : s.ops) {
      const Dist *d = op->agg.wait();
      if (!d || !d->count) continue;
      std::string a;
      pb::bytes_field(a, kExpAttributes, string_attr("op", op->name));
      m.histogram_point(a, t, *d);
      any = true;
    }
    if (any) pb::bytes_field(metrics, kScopeMetricsMetrics, m.exponential_histogram(t.temporality));
  }
  {
    Metric m("boundarytrace.phase.duration", "Time per operation spent in a phase.", "ns");
    for (const auto &op : s.ops) {
      for (uint32_t p = 0; p < s.phase_count; ++p) {
        const Dist *d = op->agg.phase(static_cast<int>(p));
        if (d && d->count) m.histogram_point(phase_attrs(kExpAttributes, *op, p), t, *d);
      }
    }
    pb::bytes_field(metrics, kScopeMetricsMetrics, m.exponential_histogram(t.temporality));
  }
  std::string scope, scope_metrics, resource, resource_metrics, request;
  pb::bytes_field(scope, kScopeName, "boundarytrace");
  pb::bytes_field(scope_metrics, kScopeMetricsScope, scope);
  scope_metrics += metrics;
  const char *service = std::getenv("OTEL_SERVICE_NAME");
  pb::bytes_field(resource, kResourceAttributes,
                  string_attr("service.name", service && *service ? service : "unknown_service"));
  pb::bytes_field(resource, kResourceAttributes, int_attr("process.pid", static_cast<int64_t>(getpid())));
  pb::bytes_field(resource, kResourceAttributes, string_attr("telemetry.sdk.name", "boundarytrace"));
  pb::bytes_field(resource_metrics, kResourceMetricsResource, resource);
  pb::bytes_field(resource_metrics, kResourceMetricsScope, scope_metrics);
  pb::bytes_field(request, kRequestResourceMetrics, resource_metrics);
  return request;
}

}  // namespace bt
