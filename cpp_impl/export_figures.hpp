// The counters every exposition publishes per operation, in one table: the
// Prometheus family (text, OpenMetrics and protobuf add "_total" to samples),
// the OpenTelemetry metric name and unit, the help text, and the figure.
#pragma once
#include <cstdint>

#include "cpp_impl/aggregate.hpp"

namespace bt {

struct CounterFigure {
  const char *prometheus;  // family name; "_seconds" families hold nanoseconds / 1e9
  const char *otel;        // OpenTelemetry metric name
  const char *otel_unit;   // UCUM: "ns" or an annotation like "{operation}"
  const char *help;
  bool is_time;            // nanoseconds (seconds in Prometheus)
  uint64_t OpAgg::*field;
};

inline constexpr CounterFigure kCounterFigures[] = {
    {"boundarytrace_operations", "boundarytrace.operations", "{operation}", "Operations recorded.", false,
     &OpAgg::count},
    {"boundarytrace_errors", "boundarytrace.errors", "{operation}", "Operations marked as errors.", false,
     &OpAgg::errors},
    {"boundarytrace_items", "boundarytrace.items", "{item}", "Items (documents) handled.", false, &OpAgg::items},
    {"boundarytrace_gil_releases", "boundarytrace.gil.releases", "{release}", "Times the GIL was released.", false,
     &OpAgg::gil_releases},
    {"boundarytrace_gil_wait_seconds", "boundarytrace.gil.wait", "ns", "Time spent waiting to reacquire the GIL.",
     true, &OpAgg::gil_wait_ns},
    {"boundarytrace_gil_held_seconds", "boundarytrace.gil.held", "ns", "Time in phases that hold the GIL.", true,
     &OpAgg::gil_held_ns},
    {"boundarytrace_gil_released_seconds", "boundarytrace.gil.released", "ns",
     "Time in phases that release the GIL.", true, &OpAgg::gil_released_ns},
    {"boundarytrace_unattributed_seconds", "boundarytrace.unattributed", "ns", "Time outside every phase.", true,
     &OpAgg::unattributed_ns},
};

}  // namespace bt
