// The on-disk layout of a shared sink's files (docs/formats.md, "Shared
// directory"): a slot file is one process's figures, written in place through
// a shared mapping while other processes read it; the archive holds the
// folded figures of processes that have gone. Both have this layout.
//
// Every field is a 64-bit word and every structure a multiple of 8 bytes, so
// a reader in another process sees each word whole. A writer fills a
// structure before it publishes its offset (release), and within a record
// writes the sums, minimum and maximum before the bucket counts: a reader
// that loads the buckets first (acquire) never sees a sample counted whose
// minimum, maximum or sum is missing. Offsets are bytes from the start of the
// file; 0 means "not there yet".
#pragma once
#include <cstdint>

#include "cpp_impl/atomics.hpp"
#include "cpp_impl/histogram.hpp"
#include "cpp_impl/limits.hpp"

namespace bt {
namespace shared {

static_assert(sizeof(AtomicWord) == 8, "the file layout assumes 64-bit words");
static_assert(sizeof(SpinLock) <= 8, "a shard's lock fits one word");
static_assert(kMaxSlots == 64, "FileHeader::shard_mask has a bit per writer slot");

constexpr char kMagic[8] = {'B', 'T', 'S', 'H', 'A', 'R', 'E', 'D'};
constexpr uint32_t kMajor = 1;  // a reader refuses a greater one
constexpr uint32_t kMinor = 1;  // additions a 1.0 reader may ignore (1.1: shard_mask)

enum Kind : uint32_t { kSlot = 1, kArchive = 2 };

struct PhaseName {
  char name[kNameMax + 1];  // NUL-terminated
  uint64_t gil_held;        // 0 or 1
};

struct FileHeader {
  char magic[8];
  uint32_t major, minor;
  uint32_t header_size;  // sizeof(FileHeader) of the writer
  uint32_t kind;         // Kind
  uint64_t incarnation;  // new each time a process takes the slot (never 0)
  int64_t pid;           // the process that took it
  uint64_t unix_start_ns;
  AtomicWord used;        // bytes handed out so far (the file may be longer)
  AtomicWord dropped;     // records that could not be kept (no room)
  AtomicWord phase_mask;  // bit p: phases[p] is written
  AtomicWord folded_off;  // archive: a FoldedTable
  uint64_t processes;     // slot: 1; archive: the slot contents folded into it
  AtomicWord flight_off;  // slot: a FlightRing while the timeline is on
  char program[16];       // slot: the process's short name, NUL-padded
  AtomicWord more_ops_off;  // archive: an OpList of the operations past op_off's 1024
  // Format 1.1: bit s set before any OpRec::shard_off[s] is published, so a
  // reader scans only the writer slots in use (a 1.0 file has 0 here: all).
  AtomicWord shard_mask;
  uint64_t reserved[2];
  PhaseName phases[kMaxPhases];  // the writer's own phase ids
  AtomicWord op_off[kMaxOps];    // OpRec, in the order the writer met them
};

struct OpRec {
  char name[kNameMax + 1];
  AtomicWord shard_off[kMaxSlots];  // ShardRec per writer thread slot (archive: [0] only)
};

// A shard's distributions: the total, each phase, then the GIL wait.
constexpr int kDistWaitIndex = kMaxPhases + 1;
constexpr int kDists = kMaxPhases + 2;

// One writer thread's figures of one operation.
struct ShardRec {
  SpinLock lock;  // taken by its writers only; a reader never waits on it
  alignas(8) AtomicWord errors, left_open, items, gil_releases, parallel_ops, workers_max, saturated;
  AtomicWord dist_off[kDists];  // DistRec: [0] the total, [1 + p] phase p, [kDistWaitIndex] the GIL wait
};

struct DistRec {
  AtomicWord entries, sum, min, max, saturated;
  AtomicWord chunk_off[Histogram::kChunks];  // Chunk: buckets 16 c .. 16 c + 15
};

struct Chunk {
  AtomicWord count[Histogram::kSub];
};

// Operations past the header's table (an archive merges many processes,
// whose names together may pass BT_MAX_OPS).
struct OpList {
  uint64_t count;
  uint64_t off[1];  // `count` OpRec offsets
};

// The archive's record of which slot contents it holds: a slot whose
// incarnation is listed is not merged again.
struct FoldedEntry {
  uint64_t slot, incarnation;
};
struct FoldedTable {
  uint64_t count;
  FoldedEntry entry[1];  // `count` of them
};

// The flight recorder: while the timeline is on (bt_timeline_start), each
// process also keeps its last kFlightCapacity operations in its slot, so
// they outlive a crash (bt_timeline_export_shared). An entry is written
// between two stores of its `seq`: odd while being written, even after, so a
// reader (or a crash) never mixes two operations; the one a crash
// interrupted stays odd and is left out.
constexpr uint32_t kFlightCapacity = 1024;
constexpr uint32_t kFlightSlices = 8;  // phases kept per operation; more are counted as lost
struct FlightSlice {
  uint64_t phase, begin_ns, end_ns;  // the writer's phase id; CLOCK_MONOTONIC time line
};
struct FlightEntry {
  AtomicWord seq;
  uint64_t op_off;  // the operation's OpRec (its name)
  uint64_t tid;
  char thread_name[16];
  uint64_t begin_ns, end_ns, items, gil_wait_ns;
  uint64_t gil_releases, workers, flags, slices_lost, nslices;
  FlightSlice slice[kFlightSlices];
};
struct FlightRing {
  uint64_t capacity;
  AtomicWord written;  // operations ever written; the newest is at (written - 1) % capacity
  FlightEntry entry[1];  // `capacity` of them
};
// Flight recorders of processes that have gone are kept this many at most,
// newest first, as flight-<pid>.bt.
constexpr int kFlightFilesKept = 4;

constexpr uint64_t kAlign = 8;
// A slot file starts this big and grows by whole steps (tmpfs pages).
constexpr uint64_t kGrowStep = 64 * 1024;
// A slot file never grows past this (then records are dropped and counted).
constexpr uint64_t kMaxFileBytes = 1ull << 30;

}  // namespace shared
}  // namespace bt
