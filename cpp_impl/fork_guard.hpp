// fork() safety: every lock of the core is taken before fork and released
// after it in parent and child, so the child never inherits a lock held by a
// thread it does not have, nor a record written halfway.
#pragma once

namespace bt {

// Registers the pthread_atfork handlers; called once at load.
void install_fork_guard();

}  // namespace bt
