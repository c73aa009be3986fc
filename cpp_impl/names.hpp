// Name checks and the process-wide pool of interned names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "cpp_impl/status.hpp"

namespace bt {

// ok when `name` is 1..kNameMax bytes of valid UTF-8 without control
// characters; Err::null for NULL, Err::name otherwise. `*len` gets the length.
Err check_name(const char *name, std::size_t *len);

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
