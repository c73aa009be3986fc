// Fixed sizes of the core; capi/ checks they equal the public BT_* limits.
#pragma once
#include <cstddef>
#include <cstdint>

namespace bt {

constexpr int kMaxPhases = 32;       // BT_MAX_PHASES
// The built-in phases (extract, convert, network, materialize) are ids
// 0 .. kBuiltinPhases - 1, registered from the start.
constexpr int kBuiltinPhases = 4;
// Distributions of an operation that are not phases (BT_PHASE_TOTAL,
// BT_PHASE_GIL_WAIT).
constexpr int kDistTotal = -1;
constexpr int kDistWait = -2;
constexpr std::size_t kNameMax = 255;  // BT_NAME_MAX
constexpr std::size_t kMaxOps = 1024;  // BT_MAX_OPS, per Metrics
// Writer slots per operation. Threads beyond this share slots (still correct:
// every slot has its own lock), so it bounds memory, not correctness.
constexpr int kMaxSlots = 64;
constexpr std::size_t kCacheLine = 64;

}  // namespace bt
