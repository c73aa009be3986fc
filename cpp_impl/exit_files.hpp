// Files written when the process exits (or the library unloads), switched on
// by environment variables read once at load:
//   BOUNDARYTRACE_DUMP=path            the global snapshot, format by suffix
//   BOUNDARYTRACE_TIMELINE=path           the trace ring as Chrome Trace JSON,
//   BOUNDARYTRACE_TIMELINE_CAPACITY=N     kept operations (default 10000)
// %p in a path is the writing process's pid, %% a '%'. Written atomically;
// a failure is said once on stderr and never stops the program; a forked
// child writes only the files whose path has %p (the others are its
// parent's). An odd value is said once at load: a '%' followed by neither
// 'p' nor '%', a link, directory or other non-regular file as a target (not
// written; one that turns up by exit is refused then, and said), the
// timeline naming the dump's file (not kept), a capacity that is not
// 1..16777216 (the default is used) or that comes without
// BOUNDARYTRACE_TIMELINE (ignored).
#pragma once

namespace bt {

// Reads the environment and arms the exit writers; called once at load.
void arm_exit_files();

}  // namespace bt
