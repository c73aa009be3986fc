#include "cpp_impl/shared_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "cpp_impl/phase_table.hpp"
#include "cpp_impl/shared_read.hpp"

namespace bt {
namespace shared {

#if defined(BT_ALLOC_HOOKS)
int g_test_exit_after_archive = 0;
#endif

namespace {

constexpr const char *kLockName = "lock";
constexpr const char *kArchiveName = "archive.bt";

// An owned descriptor.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd &&o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd &operator=(Fd &&o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

// A file mapped read-only.
struct Mapped {
  void *p = nullptr;
  std::size_t n = 0;
  ~Mapped() {
    if (p) munmap(p, n);
  }
};

// "slot-<n>.bt" with n a decimal below 2^32.
bool slot_index(const char *name, uint64_t *n) {
  if (std::strncmp(name, "slot-", 5) != 0) return false;
  const char *p = name + 5;
  uint64_t v = 0;
  const char *digits = p;
  for (; *p >= '0' && *p <= '9' && p - digits < 10; ++p) v = v * 10 + static_cast<uint64_t>(*p - '0');
  if (p == digits || std::strcmp(p, ".bt") != 0 || v > UINT32_MAX) return false;
  *n = v;
  return true;
}

std::string slot_file(uint64_t n) { return "slot-" + std::to_string(n) + ".bt"; }

// Every process that names the directory differently (relative, through a
// link) gets the same name for it.
std::string canonical_path(const std::string &path) {
  std::unique_ptr<char, void (*)(void *)> real(realpath(path.c_str(), nullptr), std::free);
  return real ? std::string(real.get()) : path;
}

int lock_file(int fd, int how) {
  int r;
  do r = flock(fd, how);
  while (r != 0 && errno == EINTR);
  return r;
}

// Maps `fd` (a regular file) whole; false with `*why` otherwise.
bool map_file(int fd, Mapped *m, std::string *why) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return *why = std::strerror(errno), false;
  if (!S_ISREG(st.st_mode)) return *why = "not a regular file", false;
  m->n = static_cast<std::size_t>(st.st_size);
  if (m->n == 0) return true;
  void *p = mmap(nullptr, m->n, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return *why = std::strerror(errno), false;
  m->p = p;
  return true;
}

// The incarnation a mapped slot names, 0 when it has none (empty, foreign).
uint64_t incarnation_of(const Mapped &m) {
  if (m.n < sizeof(FileHeader)) return 0;
  const auto *h = static_cast<const FileHeader *>(m.p);
  return std::memcmp(h->magic, kMagic, sizeof kMagic) == 0 ? h->incarnation : 0;
}

// True when a mapped slot holds a flight recorder with operations in it.
bool has_flight(const Mapped &m) {
  if (m.n < sizeof(FileHeader)) return false;
  const auto *h = static_cast<const FileHeader *>(m.p);
  const uint64_t off = h->flight_off.load_acquire();
  if (!off || off % kAlign || off > m.n || m.n - off < sizeof(FlightRing)) return false;
  return reinterpret_cast<const FlightRing *>(static_cast<const char *>(m.p) + off)->written.load_acquire() > 0;
}

// Calls f(name) for each entry of the directory.
template <typename F>
void each_name(int dirfd, F f) {
  int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return;
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return;
  }
  rewinddir(d);  // the duplicate shares the offset of every earlier listing
  while (dirent *e = readdir(d)) f(e->d_name);
  closedir(d);
}

// "flight-<pid>.bt" names in the directory.
std::vector<std::string> list_flights(int dirfd) {
  std::vector<std::string> out;
  each_name(dirfd, [&out](const char *name) {
    const std::size_t n = std::strlen(name);
    if (n > 10 && std::strncmp(name, "flight-", 7) == 0 && std::strcmp(name + n - 3, ".bt") == 0)
      out.push_back(name);
  });
  return out;
}

// Keeps the kFlightFilesKept newest flight files (by modification time).
void prune_flights(int dirfd) {
  std::vector<std::pair<int64_t, std::string>> files;
  for (const std::string &name : list_flights(dirfd)) {
    struct stat st {};
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    files.emplace_back(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, name);
  }
  std::sort(files.begin(), files.end());
  for (std::size_t i = 0; i + kFlightFilesKept < files.size(); ++i) unlinkat(dirfd, files[i].second.c_str(), 0);
}

// The slot files of the directory, by index.
std::map<uint64_t, std::string> list_slots(int dirfd) {
  std::map<uint64_t, std::string> out;
  each_name(dirfd, [&out](const char *name) {
    uint64_t n = 0;
    if (slot_index(name, &n)) out[n] = name;
  });
  return out;
}

// The mode of new files: 0600 plus the read bits the directory grants.
mode_t file_mode(int dirfd) {
  struct stat st {};
  if (fstat(dirfd, &st) != 0) return 0600;
  return 0600 | (st.st_mode & (S_IRGRP | S_IROTH));
}

// Checks a file opened for writing: a regular file of this user.
bool writable_file_ok(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) return errno = EACCES, false;
  return true;
}

// The archive image of what `r` holds, naming `folded` as held.
class Builder {
 public:
  uint64_t alloc(uint64_t bytes) {
    const uint64_t off = words_.size() * 8;
    words_.resize(words_.size() + (bytes + 7) / 8, 0);
    return off;
  }
  template <typename T>
  T *at(uint64_t off) { return reinterpret_cast<T *>(words_.data() + off / 8); }
  const void *data() const { return words_.data(); }
  std::size_t size() const { return words_.size() * 8; }

 private:
  std::vector<uint64_t> words_;
};

void put_dist(Builder &b, uint64_t shard_off, int d, const Dist &dist) {
  const uint64_t off = b.alloc(sizeof(DistRec));
  b.at<ShardRec>(shard_off)->dist_off[d].store_relaxed(off);
  for (int bk = dist.hist.first_bucket(); bk < dist.hist.end_bucket(); ++bk) {
    const uint64_t n = dist.hist.count_at(bk);
    if (!n) continue;
    const int c = bk / Histogram::kSub;
    uint64_t coff = b.at<DistRec>(off)->chunk_off[c].load_relaxed();
    if (!coff) {
      coff = b.alloc(sizeof(Chunk));
      b.at<DistRec>(off)->chunk_off[c].store_relaxed(coff);
    }
    b.at<Chunk>(coff)->count[bk % Histogram::kSub].store_relaxed(n);
  }
  DistRec *r = b.at<DistRec>(off);
  r->entries.store_relaxed(dist.entries);
  r->sum.store_relaxed(dist.sum);
  r->min.store_relaxed(dist.min);
  r->max.store_relaxed(dist.max);
  r->saturated.store_relaxed(dist.saturated);
}

Builder build_archive(const Reader &r, const std::map<uint64_t, uint64_t> &folded) {
  Builder b;
  b.alloc(sizeof(FileHeader));
  {
    FileHeader *h = b.at<FileHeader>(0);
    std::memcpy(h->magic, kMagic, sizeof kMagic);
    h->major = kMajor;
    h->minor = kMinor;
    h->header_size = sizeof(FileHeader);
    h->kind = kArchive;
    h->incarnation = 1;
    h->processes = r.processes();
    h->dropped.store_relaxed(r.dropped());
  }
  uint64_t mask = 0;
  std::size_t i = 0;
  const auto ops = r.sorted_ops();
  const std::size_t more = ops.size() > kMaxOps ? ops.size() - kMaxOps : 0;
  uint64_t list = 0;
  if (more) {
    list = b.alloc(sizeof(uint64_t) * (1 + more));
    b.at<OpList>(list)->count = more;
    b.at<FileHeader>(0)->more_ops_off.store_relaxed(list);
  }
  for (const auto &op : ops) {
    const OpAgg &agg = *op.second;
    const uint64_t rec = b.alloc(sizeof(OpRec));
    std::memcpy(b.at<OpRec>(rec)->name, op.first->data(), op.first->size());
    if (i < kMaxOps) {
      b.at<FileHeader>(0)->op_off[i].store_relaxed(rec);
    } else {
      b.at<OpList>(list)->off[i - kMaxOps] = rec;
    }
    ++i;
    const uint64_t shard = b.alloc(sizeof(ShardRec));
    b.at<OpRec>(rec)->shard_off[0].store_relaxed(shard);
    b.at<FileHeader>(0)->shard_mask.store_relaxed(1);
    ShardRec *s = b.at<ShardRec>(shard);
    s->errors.store_relaxed(agg.errors);
    s->left_open.store_relaxed(agg.left_open);
    s->items.store_relaxed(agg.items);
    s->gil_releases.store_relaxed(agg.gil_releases);
    s->parallel_ops.store_relaxed(agg.parallel_ops);
    s->workers_max.store_relaxed(agg.workers_max);
    s->saturated.store_relaxed(agg.saturated);
    put_dist(b, shard, 0, agg.total);
    if (const Dist *w = agg.wait()) put_dist(b, shard, kDistWaitIndex, *w);
    for (int p = 0; p < kMaxPhases; ++p) {
      if (const Dist *d = agg.phase(p)) {
        put_dist(b, shard, 1 + p, *d);
        mask |= 1ull << p;
      }
    }
  }
  const uint64_t t = b.alloc(sizeof(uint64_t) + folded.size() * sizeof(FoldedEntry));
  b.at<FoldedTable>(t)->count = folded.size();
  std::size_t k = 0;
  for (const auto &kv : folded) b.at<FoldedTable>(t)->entry[k++] = FoldedEntry{kv.first, kv.second};
  FileHeader *h = b.at<FileHeader>(0);
  h->folded_off.store_relaxed(t);
  for (int p = 0; p < kMaxPhases; ++p) {
    if (!(mask >> p & 1)) continue;
    std::strncpy(h->phases[p].name, phases::name(p), kNameMax);
    h->phases[p].gil_held = phases::gil_held(p);
  }
  h->phase_mask.store_relaxed(mask);
  h->used.store_relaxed(b.size());
  return b;
}

// Replaces the archive: a new file beside it, then a rename, so a reader
// sees the old archive or the new one.
bool write_archive(int dirfd, const Builder &b, mode_t mode) {
  const std::string tmp = std::string(kArchiveName) + ".tmp." + std::to_string(getpid());
  unlinkat(dirfd, tmp.c_str(), 0);  // a leftover of a taker that died here
  Fd fd(openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.fd < 0) return false;
  const char *p = static_cast<const char *>(b.data());
  std::size_t left = b.size();
  while (left) {
    const ssize_t w = write(fd.fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      unlinkat(dirfd, tmp.c_str(), 0);
      return false;
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (renameat(dirfd, tmp.c_str(), dirfd, kArchiveName) != 0) {
    unlinkat(dirfd, tmp.c_str(), 0);
    return false;
  }
  return true;
}

// Reads the archive into `r`; false when it exists but cannot be used.
bool read_archive(int dirfd, const std::string &path, Reader &r) {
  Fd fd(openat(dirfd, kArchiveName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return true;
    r.skip(path + "/" + kArchiveName, std::strerror(errno));
    return false;
  }
  Mapped m;
  std::string why;
  if (!map_file(fd.fd, &m, &why)) {
    r.skip(path + "/" + kArchiveName, why);
    return false;
  }
  return r.add(m.p, m.n, kArchive, path + "/" + kArchiveName);
}

// The archive a merge in this process read last, by the identity of its
// file. It changes only when a process takes a slot (a new file renamed in),
// so a process that merges again and again (a scraper, a sidecar) parses it
// once per change instead of at every merge. Never freed (merges may run
// during exit); its lock is only tried, never waited for, so a forked child
// that inherits it held merges without the cache rather than deadlock.
struct ArchiveCache {
  std::mutex mutex;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  struct timespec mtime {}, ctime {};
  std::unique_ptr<Reader> parsed;  // the archive alone
  bool same(const struct stat &st) const {
    return parsed != nullptr && st.st_dev == dev && st.st_ino == ino && st.st_size == size &&
           st.st_mtim.tv_sec == mtime.tv_sec && st.st_mtim.tv_nsec == mtime.tv_nsec &&
           st.st_ctim.tv_sec == ctime.tv_sec && st.st_ctim.tv_nsec == ctime.tv_nsec;
  }
};
ArchiveCache &archive_cache() {
  static ArchiveCache *c = new ArchiveCache();
  return *c;
}

// read_archive() for a merge: through the cache when it holds this file.
void read_archive_cached(int dirfd, const std::string &path, Reader &r) {
  const std::string name = path + "/" + kArchiveName;
  Fd fd(openat(dirfd, kArchiveName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno != ENOENT) r.skip(name, std::strerror(errno));
    return;
  }
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) return r.skip(name, std::strerror(errno));
  ArchiveCache &c = archive_cache();
  std::unique_lock<std::mutex> lock(c.mutex, std::try_to_lock);
  if (lock.owns_lock() && c.same(st)) return r.absorb(*c.parsed);
  Mapped m;
  std::string why;
  if (!map_file(fd.fd, &m, &why)) return r.skip(name, why);
  auto parsed = std::unique_ptr<Reader>(new Reader());
  parsed->add(m.p, m.n, kArchive, name);
  r.absorb(*parsed);
  if (!lock.owns_lock()) return;
  c.dev = st.st_dev;
  c.ino = st.st_ino;
  c.size = st.st_size;
  c.mtime = st.st_mtim;
  c.ctime = st.st_ctim;
  c.parsed = std::move(parsed);
}

}  // namespace

int open_dir(const char *path, bool for_write) {
  if (for_write && mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
  Fd fd(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.fd < 0) return -1;
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) return -1;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) || (for_write && st.st_uid != geteuid())) {
    errno = EACCES;
    return -1;
  }
  return fd.release();
}

Slot *take_slot(int dirfd, int *err_no) {
  try {
    const mode_t mode = file_mode(dirfd);
    Fd lock(openat(dirfd, kLockName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode));
    if (lock.fd < 0 || !writable_file_ok(lock.fd) || lock_file(lock.fd, LOCK_EX) != 0) return *err_no = errno, nullptr;

    Reader r;
    const bool archive_ok = read_archive(dirfd, ".", r);
    const std::map<uint64_t, uint64_t> was_folded = r.folded();
    std::map<uint64_t, uint64_t> folded;  // what the archive will list
    std::map<uint64_t, Fd> free_slots;    // dead, their figures in the archive; locked by us
    bool changed = false, kept_flight = false;
    const std::map<uint64_t, std::string> names = list_slots(dirfd);
    for (const auto &kv : names) {
      Fd fd(openat(dirfd, kv.second.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
      if (fd.fd < 0 || !writable_file_ok(fd.fd)) continue;
      if (lock_file(fd.fd, LOCK_EX | LOCK_NB) != 0) continue;  // its process lives
      Mapped m;
      std::string why;
      if (!map_file(fd.fd, &m, &why)) continue;
      const uint64_t inc = incarnation_of(m);
      if (m.n != 0 && inc == 0) continue;  // foreign or damaged: left for the readers to report
      auto old = was_folded.find(kv.first);
      if (m.n != 0 && inc != 0 && !(old != was_folded.end() && old->second == inc)) {
        // Figures not yet in the archive: fold them, or leave the file for
        // the readers to report when it (or the archive) cannot be read.
        if (!archive_ok || !r.add(m.p, m.n, kSlot, kv.second)) continue;
        changed = true;
      }
      if (inc) folded[kv.first] = inc;
      if (has_flight(m)) {
        // Its last operations may be what someone debugs: kept aside, not reused.
        const auto *h = static_cast<const FileHeader *>(m.p);
        const std::string keep = "flight-" + std::to_string(h->pid) + ".bt";
        if (renameat(dirfd, kv.second.c_str(), dirfd, keep.c_str()) == 0) {
          kept_flight = true;
          continue;
        }
      }
      free_slots.emplace(kv.first, std::move(fd));
    }
    if (kept_flight) prune_flights(dirfd);
    if (changed) {
      Builder b = build_archive(r, folded);
      if (!write_archive(dirfd, b, mode)) return *err_no = errno, nullptr;
#if defined(BT_ALLOC_HOOKS)
      if (g_test_exit_after_archive) _exit(g_test_exit_after_archive);
#endif
    }

    // Reuse the lowest free slot (its lock is ours already), remove the rest.
    Slot *slot = nullptr;
    for (auto &kv : free_slots) {
      if (!slot && ftruncate(kv.second.fd, 0) == 0) {
        slot = Slot::create(kv.second.fd, kv.first, err_no);
        if (slot) kv.second.release();
        if (!slot) return nullptr;
        continue;
      }
      unlinkat(dirfd, slot_file(kv.first).c_str(), 0);
    }
    if (slot) return slot;
    for (uint64_t n = 0; n <= UINT32_MAX; ++n) {
      if (names.count(n)) continue;
      Fd fd(openat(dirfd, slot_file(n).c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
      if (fd.fd < 0) {
        if (errno == EEXIST) continue;
        return *err_no = errno, nullptr;
      }
      if (lock_file(fd.fd, LOCK_EX | LOCK_NB) != 0) return *err_no = errno, nullptr;
      slot = Slot::create(fd.fd, n, err_no);
      if (!slot) {
        unlinkat(dirfd, slot_file(n).c_str(), 0);
        return nullptr;
      }
      fd.release();
      return slot;
    }
    *err_no = ENOSPC;
    return nullptr;
  } catch (const std::bad_alloc &) {
    *err_no = ENOMEM;
    return nullptr;
  }
}

Err merge(int dirfd, const std::string &path, Snapshot **out, int *err_no) {
  try {
    Fd lock(openat(dirfd, kLockName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (lock.fd >= 0 && lock_file(lock.fd, LOCK_SH) != 0) return *err_no = errno, Err::io;
    Reader r;
    read_archive_cached(dirfd, path, r);
    const std::map<uint64_t, uint64_t> folded = r.folded();
    for (const auto &kv : list_slots(dirfd)) {
      const std::string name = path + "/" + kv.second;
      Fd fd(openat(dirfd, kv.second.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.fd < 0) {
        if (errno != ENOENT) r.skip(name, std::strerror(errno));
        continue;
      }
      Mapped m;
      std::string why;
      if (!map_file(fd.fd, &m, &why)) {
        r.skip(name, why);
        continue;
      }
      if (m.n == 0) continue;  // taken by a process that died before writing its header
      auto f = folded.find(kv.first);
      if (f != folded.end() && f->second == incarnation_of(m)) continue;  // in the archive
      r.add(m.p, m.n, kSlot, name, fd.fd);  // live, it may grow while read
    }
    const Err e = r.finish(out);
    if (e == Err::ok) (*out)->shared_dir = canonical_path(path);
    return e;
  } catch (const std::bad_alloc &) {
    return Err::nomem;
  }
}

Err find_flight(int dirfd, int64_t pid, Flight *out) {
  try {
    std::vector<std::string> names;
    for (const auto &kv : list_slots(dirfd)) names.push_back(kv.second);
    for (std::string &f : list_flights(dirfd)) names.push_back(std::move(f));
    bool found = false;
    for (const std::string &name : names) {
      Fd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.fd < 0) continue;
      Mapped m;
      std::string why;
      if (!map_file(fd.fd, &m, &why) || m.n < sizeof(FileHeader)) continue;
      if (static_cast<const FileHeader *>(m.p)->pid != pid) continue;
      Flight got;
      if (!read_flight(m.p, m.n, &got, &why, fd.fd)) continue;
      if (found && got.unix_start_ns <= out->unix_start_ns) continue;
      *out = std::move(got);
      found = true;
    }
    if (!found) return Err::not_found;
    out->contents.pid = static_cast<int>(out->pid);
    out->contents.program = out->program;
    return Err::ok;
  } catch (const std::bad_alloc &) {
    return Err::nomem;
  }
}

}  // namespace shared
}  // namespace bt
