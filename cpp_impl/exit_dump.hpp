// BOUNDARYTRACE_DUMP=path: write the global snapshot when the process exits
// (or the library unloads), in the format the path's suffix names.
#pragma once

namespace bt {

// Reads the environment and arms the dump; called once at load.
void arm_exit_dump();

}  // namespace bt
