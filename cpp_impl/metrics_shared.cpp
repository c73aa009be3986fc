// The shared sink's side of Metrics: records into this process's slot file
// (shared_slot.hpp), opening and taking slots (shared_dir.hpp), and the
// child's side of a fork.
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "cpp_impl/config.hpp"
#include "cpp_impl/metrics.hpp"
#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/clock.hpp"
#include "cpp_impl/shared_dir.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {

namespace {

// One distribution a record adds to, located: its scalars, the count of its
// bucket, the value and the entries it adds.
struct Target {
  shared::DistRec *dist;
  AtomicWord *count;
  uint64_t v, entries;
};

// Locates distribution `d` of `shard` and the count of value `v`'s bucket
// into `*t`; false when either is missing (the slow path adds it).
inline bool locate(char *base, shared::ShardRec *shard, uint32_t d, uint64_t v, uint64_t entries, Target *t) {
  const uint64_t doff = shard->dist_off[d].load_acquire();
  if (__builtin_expect(!doff, 0)) return false;
  auto *dist = reinterpret_cast<shared::DistRec *>(base + doff);
  const uint32_t b = static_cast<uint32_t>(Histogram::bucket_of(v));
  const uint64_t coff = dist->chunk_off[b >> Histogram::kSubBits].load_acquire();
  if (__builtin_expect(!coff, 0)) return false;
  *t = Target{dist, &reinterpret_cast<shared::Chunk *>(base + coff)->count[b & (Histogram::kSub - 1)], v, entries};
  return true;
}

// The targets of a record (the total, each phase entered, the GIL wait if
// any), all located; -1 when some storage is missing.
inline int locate_all(char *base, shared::ShardRec *shard, const Timing &t, uint64_t mult, Target *tg) {
  int n = 0;
  // The total's entries follow from its count.
  if (!locate(base, shard, 0, scale_to_ns(t.total_ns, mult), 0, &tg[n++])) return -1;
  for (uint32_t m = t.touched; m; m &= m - 1) {
    const uint32_t p = static_cast<uint32_t>(__builtin_ctz(m));
    if (!locate(base, shard, 1 + p, scale_to_ns(t.phase_ns[p], mult), t.phase_entries[p], &tg[n++])) return -1;
  }
  // The wait is in nanoseconds already.
  if (__builtin_expect((t.gil_releases | t.gil_wait_ns) != 0, 0) &&
      !locate(base, shard, shared::kDistWaitIndex, t.gil_wait_ns, t.gil_releases, &tg[n++]))
    return -1;
  return n;
}

// What the slow path must add for a record: the distributions and buckets.
int needed(const Timing &t, uint64_t mult, int *d, int *b) {
  int n = 0;
  d[n] = 0;
  b[n++] = Histogram::bucket_of(scale_to_ns(t.total_ns, mult));
  for (uint32_t m = t.touched; m; m &= m - 1) {
    const int p = __builtin_ctz(m);
    d[n] = 1 + p;
    b[n++] = Histogram::bucket_of(scale_to_ns(t.phase_ns[p], mult));
  }
  if (t.gil_releases | t.gil_wait_ns) {
    d[n] = shared::kDistWaitIndex;
    b[n++] = Histogram::bucket_of(t.gil_wait_ns);
  }
  return n;
}

// Who writes a shard of a slot file (shared::ShardRec), and why its thread
// needs no locked instruction to do so.
//
// The shard of writer slot s in this process's slot file is written by
// record_shared alone, by the threads of this process whose slot is s and by
// their signal handlers (nested, reentry.hpp). Nothing else takes its lock:
// readers (shared_read.cpp, in this process or another) load the words with
// acquire loads and never lock; the fork guard leaves the files alone (a
// child gives up the parent's slot without writing it:
// leave_parent_slots_in_child); the archive folds only slots whose flock is
// free, of processes that have gone, and take_slot truncates such a file
// before it lays it out again, so a lock a killed process left held in the
// file blocks nobody.
//
// So while a slot has one thread (owner_gate::single(): bit 0 clear, which
// share() sets before a second thread ever uses the slot, with membarrier),
// its thread writes without the lock, with a busy flag in this process's
// memory (g_busy, never in the file: a crash leaves nothing behind):
//   busy = 1; if single(): write, busy = 0 (release); else busy = 0, lock.
// A thread that takes the lock (a shared slot's threads, a nested handler)
// waits for, or in a handler gives up on, busy != 0 after it: a write begun
// without the lock before bit 0 was set ends first, as in owner_gate.hpp. A
// thread of a shared slot tests bit 0 before it stores busy (single() first),
// so it never wipes out the first thread's busy = 1. The order of the stores
// a reader in another process relies on (sums, minimum and maximum before
// the bucket counts, shared_format.hpp) is the same with or without the lock.
struct alignas(kCacheLine) SlotBusy {
  uint32_t busy;
};
SlotBusy g_busy[kMaxSlots];

void add_sat(AtomicWord &w, uint64_t v, AtomicWord &flag) {
  uint64_t x = w.load_relaxed();
  if (__builtin_expect(sat_add(x, v), 0)) flag.store_relaxed(1);
  w.store_relaxed(x);
}

}  // namespace

Err Metrics::record_shared(Op *op, const Timing &t, uint64_t mult) {
  reentry::Guard inside;
  const bool nested = inside.nested();
  // A nested call may not take a slot: acquiring one takes a lock.
  const int slot = nested ? slots::t_slot : slots::current();
  if (slot < 0) return Err::nomem;

  // Every target located before anything is written: all or nothing.
  Target tg[shared::kDists];
  int n = -1;
  shared::ShardRec *shard = nullptr;
  for (int attempt = 0;; ++attempt) {
    if (shared::OpRec *rec = op->srec.load()) {
      char *base = op->sbase;
      const uint64_t soff = rec->shard_off[slot].load_acquire();
      shard = soff ? reinterpret_cast<shared::ShardRec *>(base + soff) : nullptr;
      if (shard && (t.touched & ~reinterpret_cast<shared::FileHeader *>(base)->phase_mask.load_acquire()) == 0 &&
          (n = locate_all(base, shard, t, mult, tg)) >= 0)
        break;
    }
    // Storage to add: never from a nested call (the interrupted code may
    // hold the mutex); the caller keeps the record for later then.
    if (nested || attempt > 0) return Err::nomem;
    const Err e = op->owner->prepare_shared(op, slot, t, mult);
    if (e != Err::ok) return e;
  }

  uint32_t &busy = g_busy[slot].busy;
  bool owned = false;
  if (nested) {
    // Never waits: not while the interrupted code holds the lock or writes
    // without it (then the caller keeps the record for later).
    if (!shard->lock.try_lock()) return Err::nomem;
    if (__atomic_load_n(&busy, __ATOMIC_ACQUIRE) != 0) {
      shard->lock.unlock();
      return Err::nomem;
    }
  } else {
    if (__builtin_expect(owner_gate::single(), 1)) {
      __atomic_store_n(&busy, 1u, __ATOMIC_RELAXED);
      __atomic_signal_fence(__ATOMIC_SEQ_CST);  // the store before the load: share()'s membarrier orders the rest
      owned = owner_gate::single();
      if (__builtin_expect(!owned, 0)) __atomic_store_n(&busy, 0u, __ATOMIC_RELAXED);
    }
    if (__builtin_expect(!owned, 0)) {
      shard->lock.lock();
      for (int i = 0; __atomic_load_n(&busy, __ATOMIC_ACQUIRE) != 0; ++i) {
        if (i > 64) sched_yield();
      }
    }
  }
  // Scalars first, bucket counts last (shared_format.hpp): a reader that
  // loads a count sees the sample's sum, minimum and maximum.
  // Figures that are often zero are stored only when they change, behind
  // one test of them all.
  if (__builtin_expect((t.flags | t.workers | t.items | t.gil_releases) != 0, 0)) {
    if (t.flags != 0) {
      shard->errors.store_relaxed(shard->errors.load_relaxed() + (t.flags & kFlagError));
      shard->left_open.store_relaxed(shard->left_open.load_relaxed() + ((t.flags & kFlagLeftOpen) != 0));
    }
    if (t.items) add_sat(shard->items, t.items, shard->saturated);
    if (t.gil_releases) shard->gil_releases.store_relaxed(shard->gil_releases.load_relaxed() + t.gil_releases);
    if (t.workers > shard->workers_max.load_relaxed()) shard->workers_max.store_relaxed(t.workers);
    if (t.workers > 1) shard->parallel_ops.store_relaxed(shard->parallel_ops.load_relaxed() + 1);
  }
  // Each distribution's scalars before its count (release).
  for (const Target *x = tg; x != tg + n; ++x) {
    shared::DistRec &dr = *x->dist;
    add_sat(dr.sum, x->v, dr.saturated);
    if (x->v < dr.min.load_relaxed()) dr.min.store_relaxed(x->v);
    if (x->v > dr.max.load_relaxed()) dr.max.store_relaxed(x->v);
    dr.entries.store_relaxed(dr.entries.load_relaxed() + x->entries);
    x->count->store_release(x->count->load_relaxed() + 1);
  }
  if (__builtin_expect(owned, 1)) {
    __atomic_store_n(&busy, 0u, __ATOMIC_RELEASE);
  } else {
    shard->lock.unlock();
  }
  return Err::ok;
}

Err Metrics::attach_shared(Op *op) {
  if (op->srec.load()) return Err::ok;
  if (!slot_) {
    int err_no = 0;
    if (!(slot_ = shared::take_slot(dirfd_, &err_no))) {
      if (this == &global()) {  // BOUNDARYTRACE_SHARED_DIR: no caller sees a status, so say it once
        static AtomicWord said;
        if (said.cas(0, 1)) {
          const std::string why = std::string("cannot take a slot (") + std::strerror(err_no) + ")";
          config::report_env("BOUNDARYTRACE_SHARED_DIR", dir_path_, why.c_str(), "this process's records are lost");
        }
      }
      return errno = err_no, Err::io;
    }
  }
  shared::OpRec *rec = slot_->op(op->name, std::strlen(op->name));
  if (!rec) return Err::nomem;
  op->sbase = slot_->base();
  op->srec.store(rec);
  return Err::ok;
}

Err Metrics::prepare_shared(Op *op, int slot, const Timing &t, uint64_t mult) {
  int d[shared::kDists], b[shared::kDists];
  const int n = needed(t, mult, d, b);
  std::lock_guard<std::mutex> lock(mutex_);
  const Err e = attach_shared(op);
  if (e == Err::nomem) slot_->count_dropped();  // no room for its record
  if (e != Err::ok) return e;
  for (uint32_t m = t.touched; m; m &= m - 1) slot_->publish_phase(__builtin_ctz(m));
  shared::ShardRec *shard = slot_->shard(op->srec.load(), slot);
  bool ok = shard != nullptr;
  for (int i = 0; ok && i < n; ++i) ok = slot_->reserve(shard, slot, d[i], b[i]);
  if (!ok) {
    slot_->count_dropped();  // the file cannot grow: said in every snapshot
    return Err::nomem;
  }
  return Err::ok;
}

void Metrics::keep_in_flight(Op *op, const timeline::Finished &f) {
  if (reentry::inside()) return;
  Metrics *m = op->owner;
  reentry::Guard inside;
  std::lock_guard<std::mutex> lock(m->mutex_);
  if (m->attach_shared(op) != Err::ok) return;
  shared::FlightRing *ring = m->slot_->flight();
  if (!ring) return;
  const uint64_t n = ring->written.load_relaxed();
  shared::FlightEntry &e = ring->entry[n % ring->capacity];
  const uint64_t seq = e.seq.load_relaxed();
  e.seq.store_release(seq + 1);  // odd: being written
  e.op_off = static_cast<uint64_t>(reinterpret_cast<char *>(op->srec.load()) - m->slot_->base());
  e.tid = static_cast<uint64_t>(syscall(SYS_gettid));
  char name[17] = {0};
  prctl(PR_GET_NAME, name, 0, 0, 0);
  std::memcpy(e.thread_name, name, sizeof e.thread_name);
  e.begin_ns = clock::ticks_to_time_ns(f.start);
  e.end_ns = clock::ticks_to_time_ns(f.end);
  e.items = f.items;
  e.gil_wait_ns = f.gil_wait_ns;
  e.gil_releases = f.gil_releases;
  e.workers = f.workers;
  e.flags = f.flags;
  const uint32_t kept = f.nslices < shared::kFlightSlices ? f.nslices : shared::kFlightSlices;
  e.slices_lost = f.slices_lost + (f.nslices - kept);
  e.nslices = kept;
  for (uint32_t i = 0; i < kept; ++i) {
    const timeline::Slice &s = f.slices[i];
    m->slot_->publish_phase(s.phase);
    e.slice[i] = shared::FlightSlice{static_cast<uint64_t>(s.phase), clock::ticks_to_time_ns(s.begin),
                                     clock::ticks_to_time_ns(s.end)};
  }
  e.seq.store_release(seq + 2);  // even: whole
  ring->written.store_release(n + 1);
}

Err Metrics::open_shared(const char *dir, Metrics **out, int *err_no) {
  auto *m = new (std::nothrow) Metrics();
  if (!m) return Err::nomem;
  m->dir_path_ = strdup(dir);
  if (!m->dir_path_) {
    delete m;
    return Err::nomem;
  }
  m->dirfd_ = shared::open_dir(dir, true);
  if (m->dirfd_ < 0 || !(m->slot_ = shared::take_slot(m->dirfd_, err_no))) {
    if (m->dirfd_ < 0) *err_no = errno;
    delete m;
    return *err_no == ENOMEM ? Err::nomem : Err::io;
  }
  *out = m;
  return Err::ok;
}

void Metrics::share_global_from_env() {
  const char *dir = std::getenv("BOUNDARYTRACE_SHARED_DIR");
  if (!dir || !*dir) return;
  Metrics &g = global();
  std::lock_guard<std::mutex> lock(g.mutex_);
  // The directory is checked now; the slot is taken at the first record, so
  // a process that only loads the library (a reader, a tool, a pre-fork
  // master that records nothing) holds none.
  int fd = shared::open_dir(dir, true);
  const int err_no = errno;
  char *path = fd >= 0 ? strdup(dir) : nullptr;
  if (!path) {
    std::string why = std::string("cannot be used (") + std::strerror(fd >= 0 ? ENOMEM : err_no) + ")";
    if (fd < 0 && err_no == EACCES) why += ": the directory must be yours and not writable by group or others";
    config::report_env("BOUNDARYTRACE_SHARED_DIR", dir, why.c_str(), "the figures stay in this process");
    if (fd >= 0) close(fd);
    return;
  }
  g.dir_path_ = path;
  g.dirfd_ = fd;
  for (std::size_t i = 0; i < g.nops_; ++i) g.ops_[i]->shared = true;
}

void Metrics::leave_parent_slots_in_child() {
  // The parent's other threads, maybe busy in a write, do not exist here.
  for (SlotBusy &b : g_busy) b.busy = 0;
  for (Metrics *m = registry_head(); m; m = m->next_) {
    if (!m->is_shared()) continue;
    for (std::size_t i = 0; i < m->nops_; ++i) {
      m->ops_[i]->srec.store(nullptr);
      m->ops_[i]->sbase = nullptr;
    }
    if (m->slot_) {
      m->slot_->abandon();
      delete m->slot_;
      m->slot_ = nullptr;
    }
  }
}

}  // namespace bt
