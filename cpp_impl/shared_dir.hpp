// A shared directory: the slot files of the processes writing into it
// (`slot-<n>.bt`), the archive of those that have gone (`archive.bt`), and
// the lock file that orders takers and readers (`lock`).
//
// Ownership of a slot is an exclusive flock on its file, held for the life
// of the process and released by the kernel when the process dies, however
// it dies; a pid is never trusted (pids are reused). Taking a slot and
// folding the dead ones into the archive happen under an exclusive flock of
// `lock`; a merge holds it shared. So a merge never sees a dead slot both in
// the archive and in its file, and never neither; and the archive names the
// incarnation of every slot content it holds, so a taker that dies between
// writing the archive and emptying a slot does not make it count twice.
#pragma once
#include <cstdint>
#include <string>

#include "cpp_impl/shared_read.hpp"
#include "cpp_impl/shared_slot.hpp"
#include "cpp_impl/snapshot.hpp"
#include "cpp_impl/status.hpp"

namespace bt {
namespace shared {

// Opens `path` as a shared directory. For writing, a missing directory is
// created (mode 0700); for both, a directory another user may write into
// (group or others, or owned by another user when writing) is refused: files
// planted there could pass for slots. -1 with errno (EACCES for an unsafe
// directory) on failure.
int open_dir(const char *path, bool for_write);

// Takes a slot in the directory `dirfd`: folds the slots of processes that
// have gone into the archive, then reuses one of their files (the others are
// removed) or creates a new one. Files are created 0600, plus the read bits
// the directory grants to group and others. nullptr with `*err_no` on failure.
Slot *take_slot(int dirfd, int *err_no);

// Merges the archive and every slot, live or dead, into a new snapshot.
// `path` names files in the skipped list. Err::io with `*err_no` when the
// directory cannot be read at all; Err::nomem.
Err merge(int dirfd, const std::string &path, Snapshot **out, int *err_no);

// The flight recorder of process `pid` in the directory: from its slot
// (live, or gone and not yet taken over) or from the flight-<pid>.bt file a
// taker kept of it. With several (the pid came back), the newest. Err::not_found
// when none holds one.
Err find_flight(int dirfd, int64_t pid, Flight *out);

#if defined(BT_ALLOC_HOOKS)
// Test-only: when not 0, a taker exits with this code right after writing
// the archive, before it empties the folded slots (a crash in that window).
extern int g_test_exit_after_archive;
#endif

}  // namespace shared
}  // namespace bt
