// The few atomic operations the core needs, over libatomic_ops (the default)
// or std::atomic (fallback chosen at configure time, see BT_ATOMICS).
#pragma once
#include <cstdint>
#include <sched.h>

#if defined(BT_USE_LIBATOMIC_OPS)
#include <atomic_ops.h>
#else
#include <atomic>
#endif

namespace bt {

#if defined(BT_USE_LIBATOMIC_OPS)

// A word read and written by several threads.
class AtomicWord {
 public:
  // constexpr: globals are constant-initialised, before any load-time code.
  constexpr AtomicWord() = default;
  constexpr explicit AtomicWord(std::uintptr_t v) : v_(static_cast<AO_t>(v)) {}
  std::uintptr_t load_relaxed() const { return AO_load(&v_); }
  std::uintptr_t load_acquire() const { return AO_load_acquire(&v_); }
  void store_relaxed(std::uintptr_t v) { AO_store(&v_, static_cast<AO_t>(v)); }
  void store_release(std::uintptr_t v) { AO_store_release(&v_, static_cast<AO_t>(v)); }
  bool cas(std::uintptr_t expect, std::uintptr_t desired) {
    return AO_compare_and_swap_full(&v_, static_cast<AO_t>(expect),
                                    static_cast<AO_t>(desired)) != 0;
  }
  // Returns the value before the addition.
  std::uintptr_t fetch_add_relaxed(std::uintptr_t n) {
    return AO_fetch_and_add(&v_, static_cast<AO_t>(n));
  }
 private:
  mutable AO_t v_ = 0;  // accessed only through AO_* (which take volatile pointers)
};

// Test-and-set spin lock; uncontended it is one atomic exchange and one store.
class SpinLock {
 public:
  void lock() {
    while (AO_test_and_set_acquire(&flag_) == AO_TS_SET) {
      // Read-only spin: no cache-line ping-pong while the holder works.
      for (int i = 0; is_set(); ++i) {
        if (i > 64) sched_yield();
      }
    }
  }
  // Takes the lock only if it is free: never waits.
  bool try_lock() { return AO_test_and_set_acquire(&flag_) == AO_TS_CLEAR; }
  void unlock() { AO_CLEAR(&flag_); }
 private:
  // An atomic read of the flag, whatever width this platform gives AO_TS_t.
  bool is_set() const {
    if constexpr (sizeof(AO_TS_t) == sizeof(unsigned char)) {
      return AO_char_load(reinterpret_cast<const volatile unsigned char *>(&flag_)) != AO_TS_CLEAR;
    } else {
      return AO_load(reinterpret_cast<const volatile AO_t *>(&flag_)) != AO_TS_CLEAR;
    }
  }
  volatile AO_TS_t flag_ = AO_TS_INITIALIZER;
};

#else

class AtomicWord {
 public:
  constexpr AtomicWord() = default;
  constexpr explicit AtomicWord(std::uintptr_t v) : v_(v) {}
  std::uintptr_t load_relaxed() const { return v_.load(std::memory_order_relaxed); }
  std::uintptr_t load_acquire() const { return v_.load(std::memory_order_acquire); }
  void store_relaxed(std::uintptr_t v) { v_.store(v, std::memory_order_relaxed); }
  void store_release(std::uintptr_t v) { v_.store(v, std::memory_order_release); }
  bool cas(std::uintptr_t expect, std::uintptr_t desired) {
    return v_.compare_exchange_strong(expect, desired, std::memory_order_acq_rel);
  }
  std::uintptr_t fetch_add_relaxed(std::uintptr_t n) { return v_.fetch_add(n, std::memory_order_relaxed); }
 private:
  std::atomic<std::uintptr_t> v_{0};
};

class SpinLock {
 public:
  void lock() {
    while (flag_.exchange(true, std::memory_order_acquire)) {
      for (int i = 0; flag_.load(std::memory_order_relaxed); ++i) {
        if (i > 64) sched_yield();
      }
    }
  }
  // Takes the lock only if it is free: never waits.
  bool try_lock() { return !flag_.exchange(true, std::memory_order_acquire); }
  void unlock() { flag_.store(false, std::memory_order_release); }
 private:
  std::atomic<bool> flag_{false};
};
#endif

// A pointer published once by one thread and read by others.
template <typename T>
class AtomicPtr {
 public:
  T *load() const { return reinterpret_cast<T *>(w_.load_acquire()); }
  void store(T *p) { w_.store_release(reinterpret_cast<std::uintptr_t>(p)); }
  bool cas(T *expect, T *desired) {
    return w_.cas(reinterpret_cast<std::uintptr_t>(expect),
                  reinterpret_cast<std::uintptr_t>(desired));
  }
 private:
  AtomicWord w_;
};

class SpinGuard {
 public:
  explicit SpinGuard(SpinLock &l) : l_(l) { l_.lock(); }
  ~SpinGuard() { l_.unlock(); }
  SpinGuard(const SpinGuard &) = delete;
  SpinGuard &operator=(const SpinGuard &) = delete;
 private:
  SpinLock &l_;
};

}  // namespace bt
