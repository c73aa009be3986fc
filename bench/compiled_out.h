/* The compile-time off switch, measured: compiled_out.c is built with
 * BT_DISABLE_TRACING, so its traced loop must compile to nothing and reference
 * no bt_ symbol (bench/run checks the object file with nm and objdump). */
#ifndef BENCH_COMPILED_OUT_H
#define BENCH_COMPILED_OUT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Traces `n` full four-phase operations with tracing compiled out. */
void bench_compiled_out_ops(unsigned n);

#ifdef __cplusplus
}
#endif

#endif
