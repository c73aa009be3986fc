#include "cpp_impl/metrics.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpp_impl/alloc.hpp"
#include "cpp_impl/clock.hpp"
#include "cpp_impl/lasting.hpp"
#include "cpp_impl/names.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/shared_dir.hpp"
#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/thread_slot.hpp"

namespace bt {

namespace {

Shard *new_shard() {
  void *p = mem_aligned(kCacheLine, sizeof(Shard));
  return p ? new (p) Shard() : nullptr;
}

void delete_shard(Shard *s) {
  if (!s) return;
  s->~Shard();
  mem_free(s);
}

// Snapshot parts built before anything is moved, so a failed allocation
// leaves the metrics untouched. `in_arena`: the operations, and all their
// merges add (pass snap->arena down), live in an arena of the snapshot
// (arena.hpp), for a snapshot that is only read once made: a copy of 1,000
// operations made some 5,000 allocations and freed them one by one, while
// the writers waited on their shards' locks (owner_gate::Exclude).
std::unique_ptr<Snapshot> new_snapshot(std::size_t nops, bool in_arena = false) {
  auto snap = std::unique_ptr<Snapshot>(new (std::nothrow) Snapshot());
  if (!snap) return nullptr;
  try {
    // Blocks from 4 KiB: a snapshot of a few operations stays that small.
    if (in_arena) snap->arena.reset(new Arena(4096));
    snap->ops.reserve(nops);  // so push_back below cannot throw
    for (std::size_t i = 0; i < nops; ++i) {
      if (!in_arena) {
        snap->ops.push_back(std::unique_ptr<SnapOp>(new SnapOp()));
        continue;
      }
      void *mem = snap->arena->alloc(sizeof(SnapOp));
      if (!mem) return nullptr;
      snap->ops.push_back(std::unique_ptr<SnapOp>(new (mem) SnapOp()));  // released, never deleted
    }
  } catch (const std::bad_alloc &) {
    return nullptr;
  }
  snap->phase_count = phases::count();
  return snap;
}

// Calls f(aggregate) for each shard of `op` (the first ones, then the side
// ones) under the shard's lock, taken inside a guarded region (reentry.hpp):
// a signal handler that interrupts the holder records elsewhere rather than
// wait for it. Stops at the first false. Only inside an owner_gate::Exclude,
// so no thread writes its shard without the lock meanwhile.
template <typename F>
bool each_shard_locked(Op *op, F f) {
  for (AtomicPtr<Shard> *array : {op->shards, op->side}) {
    for (int s = 0; s < kMaxSlots; ++s) {
      Shard *shard = array[s].load();
      if (!shard) continue;
      reentry::Guard inside;
      shard->lock_excl();
      const bool go_on = f(shard->agg);
      shard->lock.unlock();
      if (!go_on) return false;
    }
  }
  return true;
}

}  // namespace

Op::~Op() {
  for (auto &s : shards) delete_shard(s.load());
  for (auto &s : side) delete_shard(s.load());
}

namespace {
// Every live Metrics, for fork_guard.cpp.
std::mutex &registry_mutex() {
  static std::mutex m;
  return m;
}
Metrics *g_registry = nullptr;
uint64_t g_next_id = 1;  // under registry_mutex()

// Held to install a shard (add_shard, reserve), and by the fork guard from
// before it looks at the shards until after it unlocks them: so the shards
// it unlocks are exactly the ones it locked, and no record runs in a shard
// made meanwhile. Nothing is taken under it; a thread may hold a Metrics
// lock when it takes it (a snapshot's guarded region ends in a drain,
// reentry.hpp, which may record).
std::mutex &shard_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

Metrics *Metrics::registry_head() { return g_registry; }

Metrics::Metrics() {
  cumulative_start_ns_ = interval_start_ns_ = clock::now_ns();
  std::lock_guard<std::mutex> lock(registry_mutex());
  id_ = g_next_id++;
  next_ = g_registry;
  if (next_) next_->prev_ = this;
  g_registry = this;
}

Metrics::~Metrics() {
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    if (prev_) prev_->next_ = next_;
    else g_registry = next_;
    if (next_) next_->prev_ = prev_;
  }
  for (std::size_t i = 0; i < nops_; ++i) delete ops_[i];
  delete slot_;  // unmapped and closed: its lock goes, the next taker folds it
  if (dirfd_ >= 0) close(dirfd_);
  std::free(dir_path_);
}

namespace {
// Of the fork guard: from lock_all_for_fork to release_all_for_fork.
alignas(owner_gate::Exclude) unsigned char g_fork_exclude[sizeof(owner_gate::Exclude)];
}  // namespace

void Metrics::lock_all_for_fork() {
  reentry::enter();  // until release_all_for_fork: a handler meanwhile is nested
  new (g_fork_exclude) owner_gate::Exclude();  // no record without a shard's lock until then
  registry_mutex().lock();
  // Every Metrics lock before the shard mutex and any shard's lock: a
  // snapshot of one Metrics may, in its drain, make or lock a shard of any.
  for (Metrics *m = g_registry; m; m = m->next_) m->mutex_.lock();
  shard_mutex().lock();
  for (Metrics *m = g_registry; m; m = m->next_) {
    for (std::size_t i = 0; i < m->nops_; ++i) {
      for (auto &slot : m->ops_[i]->shards) {
        if (Shard *s = slot.load()) s->lock_excl();
      }
      for (auto &slot : m->ops_[i]->side) {
        if (Shard *s = slot.load()) s->lock_excl();
      }
    }
  }
}

void Metrics::release_all_for_fork() {
  for (Metrics *m = g_registry; m; m = m->next_) {
    for (std::size_t i = 0; i < m->nops_; ++i) {
      for (auto &slot : m->ops_[i]->shards) {
        if (Shard *s = slot.load()) s->lock.unlock();
      }
      for (auto &slot : m->ops_[i]->side) {
        if (Shard *s = slot.load()) s->lock.unlock();
      }
    }
  }
  shard_mutex().unlock();
  for (Metrics *m = g_registry; m; m = m->next_) m->mutex_.unlock();
  registry_mutex().unlock();
  reinterpret_cast<owner_gate::Exclude *>(g_fork_exclude)->~Exclude();
  reentry::leave();
}

Metrics &Metrics::global() {
  static Lasting<Metrics> g;  // see lasting.hpp: other threads may trace during exit
  return g.get();
}

Op *Metrics::find(const char *name, uint64_t hash) const {
  for (std::size_t i = hash & (kTableSize - 1);; i = (i + 1) & (kTableSize - 1)) {
    Op *op = table_[i].load();
    if (!op) return nullptr;
    if (op->hash == hash && std::strcmp(op->name, name) == 0) return op;
  }
}

Err Metrics::op(const char *name, std::size_t len, Op **out) {
  uint64_t h = hash_name(name, len);
  if (Op *op = find(name, h)) {
    *out = op;
    return Err::ok;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (Op *op = find(name, h)) {  // added meanwhile
    *out = op;
    return Err::ok;
  }
  if (nops_ >= kMaxOps) return Err::full;
  const char *interned = intern(name, len);
  if (!interned) return Err::nomem;
  Op *op = new (std::nothrow) Op();
  if (!op) return Err::nomem;
  op->name = interned;
  op->hash = h;
  op->owner = this;
  op->shared = is_shared();
  // Listed from now on if the process holds a slot; else from its first record.
  if (op->shared && slot_) (void)attach_shared(op);
  ops_[nops_++] = op;
  std::size_t i = h & (kTableSize - 1);
  while (table_[i].load()) i = (i + 1) & (kTableSize - 1);
  table_[i].store(op);  // release: readers see a complete Op
  *out = op;
  return Err::ok;
}

namespace detail {
__thread LastLookup t_last_lookup __attribute__((tls_model("initial-exec"))) = {};

namespace {
// Remembers `op`, looked up in Metrics `id` through the caller's `name`
// (LastLookup): its text at the caller's alignment, for the word test.
void remember(uint64_t id, const char *name, Op *op, std::size_t len) {
  LastLookup &last = t_last_lookup;
  // A signal handler that interrupted a rewrite leaves the entry alone.
  if (__atomic_load_n(&last.gen, __ATOMIC_RELAXED) & 1u) return;
  __atomic_store_n(&last.gen, last.gen + 1, __ATOMIC_RELAXED);  // odd: being rewritten
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  const std::size_t off = reinterpret_cast<std::uintptr_t>(name) & 7;
  const std::size_t words = (off + len + 1 + 7) / 8;
  unsigned char want[kLookupWords * 8] = {}, mask[kLookupWords * 8] = {};
  if (words <= kLookupWords) {
    std::memcpy(want + off, op->name, len + 1);  // the NUL included
    std::memset(mask + off, 0xff, len + 1);
  }
  std::memcpy(last.want, want, sizeof want);
  std::memcpy(last.mask, mask, sizeof mask);
  last.words = words <= kLookupWords ? static_cast<uint32_t>(words) : 0;
  last.metrics_id = id;
  last.name = name;
  last.op = op;
  last.len = len;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&last.gen, last.gen + 1, __ATOMIC_RELAXED);
}
}  // namespace
}  // namespace detail

Err Metrics::lookup_slow(const char *name, Op **out) {
  std::size_t len = 0;
  Err e = check_name(name, &len);
  if (e != Err::ok) return e;
  e = op(name, len, out);
  if (e == Err::ok) detail::remember(id_, name, *out, len);
  return e;
}

Err Metrics::record_nested(Op *op, const Timing &t, uint64_t mult) {
  const int slot = slots::t_slot;  // acquiring one takes a lock: not here
  if (slot < 0) return Err::nomem;
  for (AtomicPtr<Shard> *which : {&op->shards[slot], &op->side[slot]}) {
    Shard *shard = which->load();
    if (!shard || !shard->try_lock_excl()) continue;  // held or written by the interrupted code, maybe
    const bool done = shard->agg.record(t, mult, false);
    shard->lock.unlock();
    if (done) return Err::ok;
  }
  return Err::nomem;
}

Err Metrics::reserve(Op *op) {
  reentry::Guard inside;
  const int slot = slots::current();
  for (AtomicPtr<Shard> *which : {&op->shards[slot], &op->side[slot]}) {
    Shard *shard = which->load();
    if (!shard) {
      Shard *fresh = new_shard();
      if (!fresh) return Err::nomem;
      std::lock_guard<std::mutex> installing(shard_mutex());  // not while the fork guard holds the shards
      if (which->cas(nullptr, fresh)) {
        shard = fresh;
      } else {  // a thread sharing this slot won the race
        delete_shard(fresh);
        shard = which->load();
      }
    }
    shard->lock_excl();
    const bool ok = shard->agg.reserve_all(phases::count());
    shard->lock.unlock();
    if (!ok) return Err::nomem;
  }
  return Err::ok;
}

Shard *Metrics::add_shard(Op *op) {
  AtomicPtr<Shard> &slot = op->shards[slots::current()];
  Shard *fresh = new_shard();
  if (!fresh) return nullptr;
  std::lock_guard<std::mutex> installing(shard_mutex());  // not while the fork guard holds the shards
  if (slot.cas(nullptr, fresh)) return fresh;
  delete_shard(fresh);  // a thread sharing this slot won the race
  return slot.load();
}

Err Metrics::snapshot(Snapshot **out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (is_shared()) {
    int err_no = 0;
    const Err e = shared::merge(dirfd_, dir_path_, out, &err_no);
    if (e == Err::io) errno = err_no;
    return e;
  }
  auto snap = new_snapshot(nops_, true);
  if (!snap) return Err::nomem;
  Arena *arena = snap->arena.get();
  owner_gate::Exclude writers_locked;  // each_shard_locked
  for (std::size_t i = 0; i < nops_; ++i) {
    Op *op = ops_[i];
    SnapOp &so = *snap->ops[i];
    so.name = op->name;
    // Each distribution's storage at once, for all the shards' ranges: an
    // arena keeps every block a histogram outgrows. (A writer may still
    // widen its shard meanwhile, through its lock; the merge covers that.)
    CoverPlan plan;
    plan.add(op->past);
    plan.add(op->pending);
    each_shard_locked(op, [&plan](OpAgg &a) { return plan.add(a), true; });
    if (!plan.reserve(so.agg, arena)) return Err::nomem;
    if (!so.agg.merge(op->past, arena) || !so.agg.merge(op->pending, arena)) return Err::nomem;
    if (!each_shard_locked(op, [&so, arena](OpAgg &a) { return so.agg.merge(a, arena); })) return Err::nomem;
  }
  snap->start_ns = cumulative_start_ns_;
  snap->end_ns = clock::now_ns();
  snap->finish();
  *out = snap.release();
  return Err::ok;
}

Err Metrics::take(Snapshot **interval_out, Snapshot **cumulative_out) {
  if (is_shared()) return Err::invalid;
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t n = nops_;
  auto interval = new_snapshot(n);
  if (!interval) return Err::nomem;
  std::unique_ptr<Snapshot> cumulative;
  if (cumulative_out && !(cumulative = new_snapshot(n))) return Err::nomem;

  // Moves every interval so far into its op's pending aggregate (swap, no
  // allocation): nothing taken is lost, the next take delivers it.
  auto undo = [&](std::size_t upto) {
    for (std::size_t i = 0; i < upto; ++i) ops_[i]->pending.swap(interval->ops[i]->agg);
    return Err::nomem;
  };
  // The take itself: each shard's figures move into the interval under the
  // shard's lock (the merge allocates only when the interval lacks room), so
  // every record lands wholly in this interval or the next. The shard keeps
  // its storage, so its thread's next records do not allocate again.
  owner_gate::Exclude writers_locked;  // each_shard_locked
  for (std::size_t i = 0; i < n; ++i) {
    OpAgg &got = interval->ops[i]->agg;
    interval->ops[i]->name = ops_[i]->name;
    got.swap(ops_[i]->pending);
    if (!each_shard_locked(ops_[i], [&got](OpAgg &a) { return got.merge(a) && (a.clear(), true); }))
      return undo(i + 1);
  }
  // Room in the past (and the cumulative copy) first, then the adds, which
  // cannot fail.
  for (std::size_t i = 0; i < n; ++i) {
    const OpAgg &got = interval->ops[i]->agg;
    if (!ops_[i]->past.cover(got)) return undo(n);
    if (cumulative) {
      cumulative->ops[i]->name = ops_[i]->name;
      OpAgg &cum = cumulative->ops[i]->agg;
      if (!cum.merge(ops_[i]->past) || !cum.merge(got)) return undo(n);
    }
  }
  for (std::size_t i = 0; i < n; ++i) ops_[i]->past.add_covered(interval->ops[i]->agg);

  uint64_t now = clock::now_ns();
  interval->start_ns = interval_start_ns_;
  interval->end_ns = now;
  interval->interval = true;
  interval_start_ns_ = now;
  interval->finish();
  if (cumulative) {
    cumulative->start_ns = cumulative_start_ns_;
    cumulative->end_ns = now;
    cumulative->finish();
    *cumulative_out = cumulative.release();
  }
  *interval_out = interval.release();
  return Err::ok;
}

Err Metrics::reset() {
  if (is_shared()) return Err::invalid;
  std::lock_guard<std::mutex> lock(mutex_);
  owner_gate::Exclude writers_locked;  // each_shard_locked
  for (std::size_t i = 0; i < nops_; ++i) {
    each_shard_locked(ops_[i], [](OpAgg &a) { return a.clear(), true; });
    ops_[i]->past.clear();
    ops_[i]->pending.clear();
  }
  cumulative_start_ns_ = interval_start_ns_ = clock::now_ns();
  return Err::ok;
}

}  // namespace bt
