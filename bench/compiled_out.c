/* Built with -DBT_DISABLE_TRACING (see CMakeLists.txt): bt.h turns every call
 * into an inline no-op, so this loop is expected to compile to a bare `ret`. */
#ifndef BT_DISABLE_TRACING
#error "compiled_out.c must be built with -DBT_DISABLE_TRACING"
#endif
#include <boundarytrace/bt.h>

#include "compiled_out.h"

void bench_compiled_out_ops(unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    bt_tracer *t = NULL;
    bt_phase_id p;
    bt_tracer_new(&t, NULL, "compiled.out");
    for (p = BT_PHASE_EXTRACT; p <= BT_PHASE_MATERIALIZE; ++p) {
      bt_phase_begin(t, p);
      bt_phase_end(t, p);
    }
    bt_tracer_finish(t);
    bt_tracer_free(t);
  }
}
