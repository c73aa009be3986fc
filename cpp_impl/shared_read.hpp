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
#include <vector>

#include "cpp_impl/aggregate.hpp"
#include "cpp_impl/shared_format.hpp"
#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/status.hpp"
#include "cpp_impl/timeline.hpp"

namespace bt {
namespace shared {

class Reader {
 public:
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

  // Moves what was read into a new snapshot (cumulative, operations sorted).
  // Err::nomem when out of memory.
  Err finish(Snapshot **out);

  // The merged figures so far, by name (the archive writer reads them).
  const std::map<std::string, std::unique_ptr<OpAgg>> &ops() const { return ops_; }
  uint64_t processes() const { return processes_; }
  uint64_t dropped() const { return dropped_; }

 private:
  bool add_checked(const uint8_t *base, std::size_t size, Kind kind, int fd, std::string *why);
  std::map<std::string, std::unique_ptr<OpAgg>> ops_;
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
