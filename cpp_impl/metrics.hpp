// A sink of finished operations: a registry of operation names, each with
// per-thread shards of aggregates (see thread_slot.hpp) and the folded past
// of earlier takes.
//
// Why shards with a lock each: a record touches a dozen counters and a few
// histogram buckets. In a shard only its own thread normally writes, so the
// lock is one uncontended exchange and the counters are plain adds on a
// cache line no other thread writes. The lock also makes a record atomic with
// respect to snapshot, take and reset, which read or move a shard whole.
#pragma once
#include <cstdint>
#include <mutex>

#include "cpp_impl/aggregate.hpp"
#include "cpp_impl/atomics.hpp"
#include "cpp_impl/limits.hpp"
#include "cpp_impl/owner_gate.hpp"
#include "cpp_impl/reentry.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/thread_slot.hpp"
#include "cpp_impl/timing.hpp"

namespace bt {

class Metrics;
struct Snapshot;
namespace shared {
class Slot;
struct OpRec;
}  // namespace shared
namespace timeline {
struct Finished;
}  // namespace timeline

struct alignas(kCacheLine) Shard {
  SpinLock lock;
  // Its thread writes it without the lock (owner_gate.hpp); only that
  // thread stores here.
  uint32_t busy = 0;
  OpAgg agg;

  // The writing thread: true when it may write without the lock (then
  // leave_owned() after); false when it must take the lock (lock_excl).
  bool enter_owned() {
    // A thread of a shared slot must not touch busy (owner_gate.hpp).
    if (__builtin_expect(!owner_gate::single(), 0)) return false;
    __atomic_store_n(&busy, 1u, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);  // the store before the load: membarrier orders the rest
    if (__builtin_expect(owner_gate::open(), 1)) return true;
    __atomic_store_n(&busy, 0u, __ATOMIC_RELAXED);
    return false;
  }
  void leave_owned() { __atomic_store_n(&busy, 0u, __ATOMIC_RELEASE); }
  // Takes the lock and waits for a write without it to end (inside an
  // owner_gate::Exclude, or by the shard's own thread).
  void lock_excl() {
    lock.lock();
    for (int i = 0; __atomic_load_n(&busy, __ATOMIC_ACQUIRE) != 0; ++i) {
      if (i > 64) sched_yield();
    }
  }
  // A nested call (reentry.hpp) never waits: false when the lock is held or
  // the interrupted code writes without it.
  bool try_lock_excl() {
    if (!lock.try_lock()) return false;
    if (__atomic_load_n(&busy, __ATOMIC_ACQUIRE) == 0) return true;
    lock.unlock();
    return false;
  }
};

struct Op {
  const char *name = nullptr;  // interned
  uint64_t hash = 0;
  Metrics *owner = nullptr;
  // Of a shared sink (metrics_shared.cpp): records go to its record in the
  // process's slot file (`srec`, published after `sbase`, the mapping's
  // start), made on first use and forgotten in a forked child.
  bool shared = false;
  char *sbase = nullptr;
  AtomicPtr<shared::OpRec> srec;
  AtomicPtr<Shard> shards[kMaxSlots];
  // A second shard per slot, made only by reserve() (bt_op_reserve): where a
  // nested record (reentry.hpp) goes when the interrupted code holds the
  // first one's lock. Folded in like the first by snapshot, take and reset.
  AtomicPtr<Shard> side[kMaxSlots];
  // Under owner's mutex: what earlier takes delivered (the cumulative view
  // adds it), and what a take moved out of the shards but could not deliver
  // (out of memory); the next take delivers it first.
  OpAgg past;
  OpAgg pending;
  ~Op();
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics &) = delete;
  Metrics &operator=(const Metrics &) = delete;

  // The process-wide sink; lives until the library unloads.
  static Metrics &global();

  // A sink whose figures live in the shared directory `dir` (shared_dir.hpp),
  // in a slot of this process. Err::io with `*err_no` when the directory is
  // refused or no slot can be taken; Err::nomem.
  static Err open_shared(const char *dir, Metrics **out, int *err_no);
  // BOUNDARYTRACE_SHARED_DIR: makes the global sink shared, before any
  // record; a directory that cannot be used is reported once on stderr and
  // the sink stays in the process. The slot is taken at the first record.
  static void share_global_from_env();
  // fork_guard.cpp, in a forked child: every shared sink gives up the
  // parent's slot (the parent keeps writing it); the child's first record
  // takes a slot of its own.
  static void leave_parent_slots_in_child();
  bool is_shared() const { return dirfd_ >= 0; }
  // While the timeline is on: keeps `f`, an operation of `op` (of a shared
  // sink), in the flight ring of the process's slot too, where it outlives
  // a crash. Not from a signal handler (it takes the sink's mutex): then the
  // operation is only in the timeline.
  static void keep_in_flight(Op *op, const timeline::Finished &f);

  // fork_guard.cpp: takes every Metrics' lock and every shard's lock, so a
  // forked child never inherits a lock held by a thread it does not have,
  // nor a record half written; release_all_for_fork undoes it.
  static void lock_all_for_fork();
  static void release_all_for_fork();

  // Finds or adds the operation `name` (already checked by check_name).
  Err op(const char *name, std::size_t len, Op **out);

  // Checks `name`, then finds or adds it. Each thread remembers its last
  // answer, so a loop that traces one name skips the check and the hash
  // (inline, below).
  inline Err lookup(const char *name, Op **out);
  // The operation of the thread's last lookup when it was `name` in this
  // Metrics, else nullptr (then call lookup()). Inline, below.
  inline Op *cached(const char *name) const;

  // Records `t` (durations in units of `mult`, see timing.hpp) into `op`'s
  // shard for this thread. All or nothing. Inside a guarded region
  // (reentry.hpp), so a signal handler that interrupts it is nested; a
  // nested record itself neither waits nor allocates (record_nested).
  // Inlined where it is called (a finish, a drain, bt_metrics_record): the
  // finish then is one function.
  __attribute__((always_inline)) static Err record(Op *op, const Timing &t, uint64_t mult) {
    if (__builtin_expect(op->shared, 0)) return record_shared(op, t, mult);
    reentry::Guard inside;
    if (__builtin_expect(inside.nested(), 0)) return record_nested(op, t, mult);
    return record_guarded(op, t, mult);
  }

  // record() of an in-heap sink's operation (!op->shared) for a caller
  // inside a guarded region it entered itself, not nested (reentry.hpp).
  __attribute__((always_inline)) static Err record_guarded(Op *op, const Timing &t, uint64_t mult) {
    Shard *shard = op->shards[slots::current()].load();
    if (__builtin_expect(!shard, 0) && !(shard = add_shard(op))) return Err::nomem;
    // The thread's own shard, written without the lock unless an excluder
    // is at work or the slot is shared (owner_gate.hpp).
    const bool owned = shard->enter_owned();
    if (__builtin_expect(!owned, 0)) shard->lock_excl();
    const bool done = shard->agg.record(t, mult);
    if (__builtin_expect(owned, 1)) {
      shard->leave_owned();
    } else {
      shard->lock.unlock();
    }
    return done ? Err::ok : Err::nomem;
  }

  // Makes this thread's shards of `op` (its first and its side shard) hold
  // every registered phase and every duration, so that no record of it
  // from this thread, nested or not, needs to allocate (bt_op_reserve).
  static Err reserve(Op *op);

  // A record from a nested call (a signal handler that interrupted the
  // library on this thread): never waits, never allocates. Into this
  // thread's first shard of `op` if its lock is free and its storage ready,
  // else into its side shard on the same terms, else Err::nomem (a tracer's
  // finish then keeps the record for later).
  static Err record_nested(Op *op, const Timing &t, uint64_t mult);

  // Cumulative copy (past + every shard). Of a shared sink: the merge of its
  // whole directory (every process).
  Err snapshot(Snapshot **out);
  // Moves the shards' contents into `*interval` and into the past; when
  // `cumulative` is not null, also gives the cumulative view at that instant.
  // Err::invalid for a shared sink: its figures belong to every process.
  Err take(Snapshot **interval, Snapshot **cumulative);
  // Err::invalid for a shared sink, as take().
  Err reset();

 private:
  static constexpr std::size_t kTableSize = 2 * kMaxOps;  // open addressing, power of two
  static_assert((kTableSize & (kTableSize - 1)) == 0, "table size is a power of two");

  static Metrics *registry_head();  // every live Metrics, via next_ (fork handlers only)
  Op *find(const char *name, uint64_t hash) const;
  Err lookup_slow(const char *name, Op **out);
  // record()'s slow path: the shard of this thread's slot in `op`, made on
  // first use; nullptr when out of memory.
  static Shard *add_shard(Op *op);

  // The shared sink's record (metrics_shared.cpp): into this thread's shard
  // of the operation in the slot file, lock-free between processes.
  static Err record_shared(Op *op, const Timing &t, uint64_t mult);
  // record_shared's slow path: takes a slot if the process has none, adds
  // the operation's record, this thread's shard, the distributions and
  // histogram blocks record `t` needs, and publishes its phases. Under
  // mutex_. Out of line: the fast path keeps its registers.
  __attribute__((noinline)) Err prepare_shared(Op *op, int slot, const Timing &t, uint64_t mult);
  // Adds `op`'s record to the slot, if there is one (under mutex_).
  Err attach_shared(Op *op);

  std::mutex mutex_;  // guards inserts, ops_, every Op::past, snapshot/take/reset
  AtomicPtr<Op> table_[kTableSize];  // lock-free lookups; written under mutex_
  Op *ops_[kMaxOps] = {};
  std::size_t nops_ = 0;
  uint64_t cumulative_start_ns_ = 0;
  uint64_t interval_start_ns_ = 0;
  Metrics *prev_ = nullptr, *next_ = nullptr;  // the registry of live Metrics
  uint64_t id_ = 0;  // unique in the process: a freed Metrics' address may come back, its id never
  // Of a shared sink: the directory (open), its path, and this process's
  // slot (nullptr in a forked child until its first record).
  int dirfd_ = -1;
  char *dir_path_ = nullptr;
  shared::Slot *slot_ = nullptr;
};

namespace detail {
// The last name looked up on this thread, and in which Metrics (by id, which
// no other Metrics ever has, even at a freed one's address). The pointer the
// caller passed is compared first (cheap), then its text against the
// interned name (so a reused buffer with other text misses).
//
// The text test reads the caller's string in aligned 8-byte words against
// the interned name laid out, when it was remembered, at the caller's
// alignment (with a mask of its bytes and NUL): a few word compares instead
// of one a byte. An aligned word never crosses a page, and the test stops at
// the first word that differs, which is at the latest the one holding the
// caller's NUL: no word past the string's is read, though bytes around it
// in its first and last word are (masked out; the sanitizers are told).
// Names too long for the words compare byte by byte.
//
// A signal handler may look a name up while the thread it interrupted is
// inside cached(): `gen` is odd while the entry is rewritten and changes
// with every rewrite, so a test that saw it change misses.
constexpr std::size_t kLookupWords = 8;  // names up to 56 bytes, at any alignment
struct LastLookup {
  uint64_t metrics_id;
  const char *name;
  Op *op;
  std::size_t len;  // of op->name
  uint32_t words;   // aligned words covering name[0 .. len]; 0: compare bytes
  uint32_t gen;
  uint64_t want[kLookupWords];
  uint64_t mask[kLookupWords];
};
extern __thread LastLookup t_last_lookup __attribute__((tls_model("initial-exec")));

// strcmp(a, b) == 0 where b has length `len`, without a call: a[i] is read
// only after a[0..i) matched b's non-NUL bytes, so never past a's end,
// whatever a's length. Four bytes a step, each still tested in order.
inline bool same_text(const char *a, const char *b, std::size_t len) {
  std::size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    if (a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2] || a[i + 3] != b[i + 3]) return false;
  }
  for (; i < len; ++i) {
    if (a[i] != b[i]) return false;
  }
  return a[len] == '\0';
}

// The word test of LastLookup: `a`'s aligned words against want under mask.
__attribute__((no_sanitize("address", "thread"))) inline bool same_words(const char *a, const LastLookup &last) {
  typedef uint64_t __attribute__((may_alias)) Word;
  const Word *w = reinterpret_cast<const Word *>(reinterpret_cast<std::uintptr_t>(a) & ~std::uintptr_t{7});
  for (uint32_t i = 0; i < last.words; ++i) {
    if ((w[i] ^ last.want[i]) & last.mask[i]) return false;
  }
  return true;
}
}  // namespace detail

inline Op *Metrics::cached(const char *name) const {
  const detail::LastLookup &last = detail::t_last_lookup;
  if (last.metrics_id != id_ || last.name != name) return nullptr;
  const uint32_t gen = __atomic_load_n(&last.gen, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  Op *op = last.op;
  const bool same = __builtin_expect(last.words != 0, 1) ? detail::same_words(name, last)
                                                          : detail::same_text(name, op->name, last.len);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  return same && !(gen & 1u) && __atomic_load_n(&last.gen, __ATOMIC_RELAXED) == gen ? op : nullptr;
}

inline Err Metrics::lookup(const char *name, Op **out) {
  if (Op *op = cached(name)) {
    *out = op;
    return Err::ok;
  }
  return lookup_slow(name, out);
}

}  // namespace bt
