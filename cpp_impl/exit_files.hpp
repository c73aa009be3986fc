// Files written when the process exits (or the library unloads), switched on
// by environment variables read once at load:
//   BOUNDARYTRACE_DUMP=path            the global snapshot, format by suffix
//   BOUNDARYTRACE_TIMELINE=path           the trace ring as Chrome Trace JSON,
//   BOUNDARYTRACE_TIMELINE_CAPACITY=N     kept operations (default 10000)
// Written atomically; a failure is said once on stderr and never stops the
// program; a forked child does not write its parent's files.
#pragma once

namespace bt {

// Reads the environment and arms the exit writers; called once at load.
void arm_exit_files();

}  // namespace bt
