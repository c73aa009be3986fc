// Test-only pause points inside the core (test_hooks.cpp, in the
// BT_ALLOC_HOOKS build only): a test makes a thread stop at one of them to
// hold a race window open. In the library proper each is an empty inline
// function, so the release build carries nothing of them.
#pragma once

namespace bt {
namespace testing {

#if defined(BT_ALLOC_HOOKS)
// Called with the spare-tracer key's mutex held, before the thread's key is
// set (tracer.cpp, SpareKey::register_thread): bt_testing_on_spare_key.
void holding_spare_key();
// The fork guard's handlers, run without a fork: bt_testing_fork_prepare,
// bt_testing_fork_release (fork_guard.cpp).
void fork_prepare();
void fork_release();
#else
inline void holding_spare_key() {}
#endif

}  // namespace testing
}  // namespace bt
