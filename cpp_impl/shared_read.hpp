// Reads shared-sink files (shared_format.hpp) into one snapshot. A file may
// come from another process that is writing it right now, from another
// version, or from a damaged or hostile disk: every offset, name and count is
// checked before use, and a file that fails a check is left out whole, with
// the reason, never trusted in part.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cpp_impl/aggregate.hpp"
#include "cpp_impl/shared_format.hpp"
#include "cpp_impl/shared_stage.hpp"
#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {
namespace shared {

class Reader {
 public:
  Reader() = default;
  ~Reader() {
    for (auto &op : ops_) (void)op.release();  // in arena_
  }
  Reader(const Reader &) = delete;
  Reader &operator=(const Reader &) = delete;
  // Adds the figures of a file image (`size` bytes at `data`, 8-byte
  // aligned) of `kind`, if it passes every check; else adds nothing and
  // lists `path` with the reason among the skipped files. True when added.
  // An archive's folded table is kept (folded()). May throw bad_alloc.
  // `fd`, when not -1, is the file the image maps: a live slot, whose
  // writer may extend it while it is read (then more of it is mapped).
  bool add(const void *data, std::size_t size, Kind kind, const std::string &path, int fd = -1);
  // Lists a file left out for a reason found outside its image.
  void skip(const std::string &path, const std::string &reason);
  // Adds everything `o` read (figures, folded table, skipped files), as if
  // its images had been added here. May throw bad_alloc.
  void absorb(const Reader &o);

  // The incarnation of each slot the last archive added holds (slot -> incarnation).
  const std::map<uint64_t, uint64_t> &folded() const { return folded_; }
  // Facts of the last image add() accepted.
  uint64_t last_incarnation() const { return last_incarnation_; }

  // Moves what was read into a new snapshot (cumulative, operations sorted);
  // the reader is left without figures. Err::nomem when out of memory.
  Err finish(Snapshot **out);

  // The merged figures so far, sorted by name (the archive writer reads
  // them). May throw bad_alloc.
  std::vector<std::pair<const std::string *, const OpAgg *>> sorted_ops() const;
  uint64_t processes() const { return processes_; }
  uint64_t dropped() const { return dropped_; }

 private:
  bool add_checked(const uint8_t *base, std::size_t size, Kind kind, int fd, std::string *why);
  // The figures of `name`, added empty when new. May throw bad_alloc.
  OpAgg &op(const std::string &name);
  // Where ops_ and all they hold are made (arena.hpp); the snapshot takes
  // it over. ops_ are dropped with it, never deleted one by one.
  std::unique_ptr<Arena> arena_{new Arena()};
  // Merged figures in the order first read, found by name through a hash;
  // finish() names (interns) them and hands them to the snapshot, which
  // sorts them once. names_[i] is ops_[i]'s key in index_ (nodes stay put).
  std::vector<std::unique_ptr<SnapOp>> ops_;
  std::vector<const std::string *> names_;
  std::unordered_map<std::string, std::size_t> index_;
  // The file being read (add_checked), kept from file to file for its storage.
  Stage stage_;
  std::map<uint64_t, uint64_t> folded_;
  std::vector<Skipped> skipped_;
  uint64_t processes_ = 0, dropped_ = 0, last_incarnation_ = 0;
  uint64_t earliest_unix_ns_ = UINT64_MAX;
};

// A process's flight recorder, read from its slot file.
struct Flight {
  int64_t pid = 0;
  uint64_t unix_start_ns = 0;
  std::string program;
  timeline::Contents contents;  // whole operations, oldest first
};

// Reads the flight recorder of a slot image (phases mapped by name onto this
// process's). False with `*why` when the image fails a check or has none.
// `fd` as for Reader::add. May throw bad_alloc.
bool read_flight(const void *data, std::size_t size, Flight *out, std::string *why, int fd = -1);

}  // namespace shared
}  // namespace bt
