// Process-wide objects that outlive the threads using them at exit.
//
// exit() runs static destructors while the process's other threads run on;
// destroying the global metrics, the name pool or the trace ring then would
// pull memory from under a thread that is still tracing. Lasting<T> builds
// its T on first use and destroys it at exit or unload only when the calling
// thread is the process's only one; otherwise the T stays, still reachable
// from this static, until the process is gone (or, after a dlclose() with
// other threads running, for good).
#pragma once
#include <new>

namespace bt {

// True when the calling thread is the only thread of the process (counted in
// /proc/self/task); false when there are others or they cannot be counted.
bool alone_in_process();

template <typename T>
class Lasting {
 public:
  Lasting() { new (storage_) T(); }
  ~Lasting() {
    if (alone_in_process()) get().~T();
  }
  Lasting(const Lasting &) = delete;
  Lasting &operator=(const Lasting &) = delete;
  T &get() { return *std::launder(reinterpret_cast<T *>(storage_)); }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace bt
