// What the library sets up when it is loaded, and the one place that builds
// the process-wide objects (name pool, global metrics, timeline).
#pragma once

namespace bt {

// Builds the lazily made process-wide objects now. The fork guard calls it so
// its handlers never construct anything between fork's halves; the exit files
// call it so the objects are built (and so destroyed) before their writer.
void build_process_objects();

}  // namespace bt
