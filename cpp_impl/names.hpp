// Name checks and the process-wide pool of interned names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "cpp_impl/status.hpp"

namespace bt {

// ok when `name` is 1..kNameMax bytes of valid UTF-8 without control
// characters; Err::null for NULL, Err::name otherwise. `*len` gets the length.
Err check_name(const char *name, std::size_t *len);

// Length of the well-formed UTF-8 sequence at `s` (`left` > 0 bytes there),
// or 0 when it is ill-formed (Unicode's table 3-7: no overlong form,
// surrogate or code point past U+10FFFF). Then `*bad` gets the length of its
// longest well-formed start, at least 1 (the part one U+FFFD replaces), and
// `*cut` whether only the end of the input made it ill-formed.
std::size_t utf8_next(const unsigned char *s, std::size_t left, std::size_t *bad, bool *cut);

// The `n` bytes at `s` as well-formed UTF-8: each ill-formed part becomes
// U+FFFD, except that a sequence cut short by the end is dropped when
// `drop_cut_tail` (a name truncated to a byte limit). May throw bad_alloc.
std::string utf8_repaired(const char *s, std::size_t n, bool drop_cut_tail);

// FNV-1a; only hashed on lookups by name, never per phase.
uint64_t hash_name(const char *name, std::size_t len);

// Creates the pool now (at load), so that it is destroyed after everything
// that may still hand out its names at exit (see exit_files.cpp).
void intern_pool_init();

// For fork_guard.cpp: the pool's lock.
std::mutex &intern_mutex();

// A copy of `name` that lives until the library unloads; nullptr when out of
// memory. Equal names give the same pointer. Thread-safe.
const char *intern(const char *name, std::size_t len);

}  // namespace bt
