// The resource of an OTLP export: the attributes that say whose figures these
// are, and so which stream a collector adds them to.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bt {

struct Snapshot;

struct ResourceAttr {
  std::string key;
  std::string text;   // a string value, when !is_int
  int64_t number = 0;  // an int value, when is_int
  bool is_int = false;
};

// In order, each key once (a later source replaces an earlier one's value):
//  1. what the library knows: service.name = "unknown_service",
//     telemetry.sdk.name = "boundarytrace", host.name (gethostname), and
//     process.pid, or for a merge of a shared directory (whose figures are
//     many processes') boundarytrace.shared_dir = its canonical path;
//  2. OTEL_RESOURCE_ATTRIBUTES, read as the OpenTelemetry SDKs read it:
//     `key=value` items split at ',', key and value stripped of blanks, the
//     value %-decoded; an item without '=' or with an empty key is left out
//     and said once on stderr (the first time any export meets one);
//  3. OTEL_SERVICE_NAME, when set and not empty: service.name.
// Every string is valid UTF-8, as protobuf requires of string fields (a
// receiver rejects the whole request otherwise): bytes that are not become
// U+FFFD. Read at each call, so a program may set the variables late.
// Throws std::bad_alloc.
std::vector<ResourceAttr> otlp_resource(const Snapshot &s);

}  // namespace bt
