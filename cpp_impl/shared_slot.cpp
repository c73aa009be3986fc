#include "cpp_impl/shared_slot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpp_impl/phase_table.hpp"

namespace bt {
namespace shared {

namespace {

constexpr uint64_t kThreadGap = 4 * kCacheLine;  // measured enough: 2 lines were not

uint64_t round_up(uint64_t n, uint64_t step) { return (n + step - 1) / step * step; }

uint64_t new_incarnation() {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    v = (static_cast<uint64_t>(ts.tv_sec) * 1000000000u + ts.tv_nsec) ^ (static_cast<uint64_t>(getpid()) << 40);
  }
  return v ? v : 1;
}

}  // namespace

Slot *Slot::create(int fd, uint64_t index, int *err_no) {
  Slot *s = new (std::nothrow) Slot();
  if (!s) return *err_no = ENOMEM, nullptr;
  void *range = mmap(nullptr, kMaxFileBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (range == MAP_FAILED) {
    *err_no = errno;
    delete s;
    return nullptr;
  }
  s->base_ = static_cast<char *>(range);
  s->reserved_ = kMaxFileBytes;
  s->fd_ = fd;
  s->index_ = index;
  if (!s->grow_to(round_up(sizeof(FileHeader), kGrowStep))) {
    *err_no = errno;
    s->fd_ = -1;  // the caller keeps it
    delete s;
    return nullptr;
  }
  FileHeader *h = s->header();
  std::memcpy(h->magic, kMagic, sizeof kMagic);
  h->major = kMajor;
  h->minor = kMinor;
  h->header_size = sizeof(FileHeader);
  h->kind = kSlot;
  h->incarnation = new_incarnation();
  h->pid = getpid();
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  h->unix_start_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000u + ts.tv_nsec;
  h->processes = 1;
  std::strncpy(h->program, program_invocation_short_name, sizeof h->program - 1);
  h->used.store_release(round_up(sizeof(FileHeader), kCacheLine));
  return s;
}

Slot::~Slot() {
  if (base_) munmap(base_, reserved_);
  if (fd_ >= 0) close(fd_);
}

void Slot::abandon() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool Slot::grow_to(uint64_t bytes) {
  if (bytes <= mapped_) return true;
  if (bytes > reserved_) return errno = EFBIG, false;
  const int e = posix_fallocate(fd_, static_cast<off_t>(mapped_), static_cast<off_t>(bytes - mapped_));
  if (e != 0) return errno = e, false;
  void *p = mmap(base_ + mapped_, bytes - mapped_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
                 static_cast<off_t>(mapped_));
  if (p == MAP_FAILED) return false;
  mapped_ = bytes;
  return true;
}

uint64_t Slot::alloc(uint64_t bytes, int owner) {
  uint64_t off = header()->used.load_relaxed();
  // Another thread's storage starts a few lines further on: a core's
  // next-line prefetchers pull in the lines just past what it writes, and
  // a neighbour thread's shard there (its lock) would bounce between the
  // cores on every record (2 threads recorded at 1.43x of one without it).
  if (owner != last_owner_) off += kThreadGap;
  // Whole cache lines: two threads' shards (a lock and counts each writes on
  // every record) never share one, so they do not slow each other down.
  const uint64_t end = off + round_up(bytes, kCacheLine);
  if (!grow_to(round_up(end, kGrowStep))) return 0;
  header()->used.store_release(end);
  last_owner_ = owner;
  return off;
}

void Slot::publish_phase(int p) {
  FileHeader *h = header();
  const uint64_t mask = h->phase_mask.load_relaxed();
  if (mask >> p & 1) return;
  const char *name = phases::name(p);
  std::strncpy(h->phases[p].name, name, kNameMax);
  h->phases[p].gil_held = phases::gil_held(p) ? 1 : 0;
  h->phase_mask.store_release(mask | (1ull << p));
}

OpRec *Slot::op(const char *name, std::size_t len) {
  FileHeader *h = header();
  for (std::size_t i = 0; i < kMaxOps; ++i) {
    const uint64_t off = h->op_off[i].load_relaxed();
    if (off) {
      OpRec *rec = at<OpRec>(off);
      if (std::strncmp(rec->name, name, kNameMax + 1) == 0) return rec;
      continue;
    }
    const uint64_t fresh = alloc(sizeof(OpRec));
    if (!fresh) return nullptr;
    OpRec *rec = at<OpRec>(fresh);
    std::memcpy(rec->name, name, len);  // zeroed storage: NUL-terminated
    h->op_off[i].store_release(fresh);
    return rec;
  }
  return nullptr;
}

ShardRec *Slot::shard(OpRec *rec, int s) {
  if (const uint64_t off = rec->shard_off[s].load_relaxed()) return at<ShardRec>(off);
  const uint64_t fresh = alloc(sizeof(ShardRec), s);
  if (!fresh) return nullptr;
  new (at<ShardRec>(fresh)) ShardRec();
  FileHeader *h = header();
  h->shard_mask.store_release(h->shard_mask.load_relaxed() | 1ull << s);  // before the offset: a reader loads it first
  rec->shard_off[s].store_release(fresh);
  return at<ShardRec>(fresh);
}

FlightRing *Slot::flight() {
  FileHeader *h = header();
  if (const uint64_t off = h->flight_off.load_relaxed()) return at<FlightRing>(off);
  const uint64_t off = alloc(sizeof(FlightRing) + (kFlightCapacity - 1) * sizeof(FlightEntry));
  if (!off) return nullptr;
  at<FlightRing>(off)->capacity = kFlightCapacity;
  h->flight_off.store_release(off);
  return at<FlightRing>(off);
}

bool Slot::reserve(ShardRec *shard, int s, int d, int b) {
  uint64_t doff = shard->dist_off[d].load_relaxed();
  if (!doff) {
    if (!(doff = alloc(sizeof(DistRec), s))) return false;
    at<DistRec>(doff)->min.store_relaxed(UINT64_MAX);
    shard->dist_off[d].store_release(doff);
  }
  DistRec *dist = at<DistRec>(doff);
  const int c = b / Histogram::kSub;
  if (dist->chunk_off[c].load_relaxed()) return true;
  const uint64_t coff = alloc(sizeof(Chunk), s);
  if (!coff) return false;
  dist->chunk_off[c].store_release(coff);
  return true;
}

}  // namespace shared
}  // namespace bt
