/*
 * boundarytrace — where did the time go between the interpreter and native code?
 *
 * The stable C API. Every binding (Python, SWIG, plain FFI) sees exactly this.
 *
 * Conventions (read once, they hold for every function below):
 *  - Every fallible call returns a bt_status: BT_OK (0) on success, a negative
 *    BT_E_* code on failure. No call aborts, prints or throws. On failure, out
 *    parameters are left untouched unless the function says otherwise.
 *  - One order for every signature: outputs first, then the object the call
 *    acts on, then the other inputs (libgit2's rule). Outputs are out-pointers
 *    (`bt_metrics_snapshot(&snap, metrics)`) and snprintf-style buffers with
 *    their capacity and `needed` (`bt_snapshot_format(buf, cap, &needed, snap)`).
 *    The object is the handle named by the function's prefix: `bt_tracer_*`
 *    takes the bt_tracer, `bt_snapshot_*` the bt_snapshot. tests/api checks
 *    every declaration below against this rule.
 *  - Names: `bt_<object>_<verb>`; `_new`/`_free` for lifetime, `_get_info` for
 *    a result struct, `_add_*` for counters that accumulate, `_set_*` for a
 *    value or flag. Handles are opaque; constructors write through the
 *    out-pointer (`bt_x_new(&out, ...)`); destructors are `bt_x_free(x)` and
 *    accept NULL.
 *  - Results cross the ABI in caller-owned structs whose first field is
 *    `struct_size`, set by the caller to sizeof the struct it knows (use the
 *    BT_*_INIT macros). The library never reads or writes past struct_size, and
 *    answers BT_E_STRUCT_SIZE when it is smaller than the first published version.
 *  - Text output follows snprintf: the text is truncated to fit `cap` bytes,
 *    always NUL-terminated when cap > 0, and `*needed` receives the full length
 *    (without the NUL). Truncation is not an error: compare *needed with cap.
 *  - Names (operations, phases) are 1..BT_NAME_MAX bytes of valid UTF-8 without
 *    control characters. The library copies (interns) them; a name pointer the
 *    library hands out stays valid for the life of the process.
 *  - Times are nanoseconds (uint64_t) everywhere.
 *  - Wherever a bt_metrics* is taken, NULL means the process-wide sink
 *    bt_metrics_global().
 *
 * Thread-safety: a bt_tracer belongs to one thread at a time (it may move between
 * threads, e.g. across an await, with the usual happens-before of a hand-off).
 * bt_metrics, bt_op, bt_snapshot and the phase table are safe from any number of
 * threads at once.
 *
 * Signals: a signal handler may trace a whole operation of a bt_op looked up
 * (and best reserved, bt_op_reserve) beforehand. These calls are
 * async-signal-safe: bt_tracer_new_op, bt_phase_begin, bt_phase_end,
 * bt_tracer_add_*, bt_tracer_set_*, bt_tracer_finish, bt_tracer_finish_timing,
 * bt_tracer_free, and bt_clock_now_ns, bt_clock_source, bt_is_enabled,
 * bt_op_name, bt_status_str, bt_status_name, bt_version, bt_version_string,
 * bt_abi_version. No other call is (bt_tracer_new by name and bt_op_lookup
 * among them). In a handler these calls
 *  - never wait for a lock the interrupted code may hold. When the signal
 *    interrupts the library on that thread (inside a record, a snapshot, a
 *    take, a timeline call), an operation finished in the handler goes to a
 *    share of the aggregates whose lock is free (bt_op_reserve gives the
 *    thread a second one), else it is recorded once its tracer is freed and
 *    the interrupted call returns: no count is lost.
 *  - never call malloc() or free() when the thread reserved the operation
 *    (bt_op_reserve), at most 32 tracers are in flight beyond one per thread,
 *    and the timeline is off (bt_timeline_start: keeping an operation
 *    allocates). Without the reservation, a handler that interrupts your own
 *    code may allocate the first time it records the operation on that
 *    thread, a phase of it, or a duration of a new power of two; one that
 *    interrupts the library never allocates (bt_tracer_new_op answers
 *    BT_E_NOMEM there when the reserve of tracers is used up).
 *
 * Compile-time off switch: define BT_DISABLE_TRACING before including this
 * header and every function becomes an inline no-op returning BT_OK (see
 * bt_noop.h); the program then needs no library at link time.
 *
 * Run-time off switch: the environment variable BOUNDARYTRACE_DISABLE=1 (read
 * once when the library loads) or bt_set_enabled(0). While disabled, recording
 * calls return BT_OK and record nothing, at the cost of one predictable branch.
 *
 * Environment: the library reads BOUNDARYTRACE_DISABLE, _CLOCK, _DUMP,
 * _TIMELINE and _TIMELINE_CAPACITY once, when it loads. A value it cannot use
 * gets exactly one line on stderr then, naming the variable, the value and
 * what is used instead ("boundarytrace: BOUNDARYTRACE_CLOCK="x" is not os,
 * monotonic, tsc or auto; using the tsc clock (the default)"); an empty
 * value counts as unset.
 */
#ifndef BOUNDARYTRACE_BT_H
#define BOUNDARYTRACE_BT_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------- */
/* Version                                                                   */
/* ------------------------------------------------------------------------- */

#define BT_VERSION_MAJOR 0
#define BT_VERSION_MINOR 1
#define BT_VERSION_PATCH 0
/** MAJOR*10000 + MINOR*100 + PATCH, comparable with bt_version(). */
#define BT_VERSION_NUMBER \
  (BT_VERSION_MAJOR * 10000 + BT_VERSION_MINOR * 100 + BT_VERSION_PATCH)
#define BT_VERSION_STRING "0.1.0"
/** ABI major version: the SONAME is libboundarytrace.so.<BT_ABI_VERSION>. */
#define BT_ABI_VERSION 1

/* ------------------------------------------------------------------------- */
/* Limits                                                                    */
/* ------------------------------------------------------------------------- */

/** Phases in the process-wide table, the four built-in ones included. */
#define BT_MAX_PHASES 32
/** Longest operation or phase name, in bytes (no terminating NUL). */
#define BT_NAME_MAX 255
/** Distinct operation names one bt_metrics holds. */
#define BT_MAX_OPS 1024

/* ------------------------------------------------------------------------- */
/* Export                                                                    */
/* ------------------------------------------------------------------------- */

#if defined(BT_BUILDING_LIBRARY) && defined(__GNUC__)
#define BT_API __attribute__((visibility("default")))
#else
#define BT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

/*
 * The one list of status codes: X(NAME, value, message). Values are pinned
 * forever; new codes get new values. bt_status_str() and bt_status_name() are
 * generated from it, and so are the bindings' exception names.
 */
#define BT_STATUS_MAP(X)                                                        \
  X(BT_OK, 0, "success")                                                        \
  X(BT_E_NULL, -1, "a required handle or pointer is NULL")                      \
  X(BT_E_INVALID, -2, "an argument is out of range")                            \
  X(BT_E_NAME, -3,                                                              \
    "name is empty, longer than BT_NAME_MAX bytes, not UTF-8, or has control "  \
    "characters")                                                               \
  X(BT_E_UNKNOWN_PHASE, -4, "unknown phase id")                                 \
  X(BT_E_PHASE_OPEN, -5, "a phase is already open on this tracer")              \
  X(BT_E_PHASE_NOT_OPEN, -6, "that phase is not open on this tracer")           \
  X(BT_E_FINISHED, -7, "the tracer has already finished")                       \
  X(BT_E_STRUCT_SIZE, -8, "struct_size is smaller than the first version")      \
  X(BT_E_NOMEM, -9, "out of memory")                                            \
  X(BT_E_FULL, -10, "a fixed-size table is full")                               \
  X(BT_E_CONFLICT, -11,                                                         \
    "phase name already registered with the other GIL state")                  \
  X(BT_E_NOT_FOUND, -12, "no such operation, or index out of range")            \
  X(BT_E_INTERNAL, -13, "internal error (please report)")                      \
  X(BT_E_IO, -14, "a file could not be written (see errno)")

typedef enum bt_status {
#define BT_STATUS_ENUM_(name, value, msg) name = value,
  BT_STATUS_MAP(BT_STATUS_ENUM_)
#undef BT_STATUS_ENUM_
  BT_STATUS_LAST_ = BT_E_IO
} bt_status;

/* ------------------------------------------------------------------------- */
/* Handles and ids                                                           */
/* ------------------------------------------------------------------------- */

/** One traced operation in flight. Created by bt_tracer_new(). */
typedef struct bt_tracer bt_tracer;
/** A sink that aggregates finished operations. bt_metrics_global() or bt_metrics_new(). */
typedef struct bt_metrics bt_metrics;
/** A bound operation: an operation name looked up once in one bt_metrics. */
typedef struct bt_op bt_op;
/** An immutable copy of a bt_metrics' aggregates. */
typedef struct bt_snapshot bt_snapshot;

/** Index into the process-wide phase table. */
typedef int32_t bt_phase_id;

/** The four built-in phases. Their ids and GIL states never change. */
#define BT_PHASE_EXTRACT 0     /**< read interpreter objects; GIL held */
#define BT_PHASE_CONVERT 1     /**< encode the native form; GIL released */
#define BT_PHASE_NETWORK 2     /**< I/O with a server; GIL released */
#define BT_PHASE_MATERIALIZE 3 /**< build interpreter objects; GIL held */
/** Pseudo-phase for snapshot queries: the whole operation. */
#define BT_PHASE_TOTAL (-1)
/**
 * Pseudo-phase for snapshot queries: the time spent waiting to get the GIL
 * back (bt_tracer_add_gil_wait), one sample per operation that released the
 * GIL or measured a wait; its entries are the releases. Since 0.1.0.
 */
#define BT_PHASE_GIL_WAIT (-2)

/* ------------------------------------------------------------------------- */
/* Result structs                                                            */
/* ------------------------------------------------------------------------- */

/** bt_timing.flags: the operation was marked as failed. */
#define BT_TIMING_ERROR 0x1u
/** bt_timing.flags: finish closed a phase that was still open. */
#define BT_TIMING_PHASE_LEFT_OPEN 0x2u

/**
 * The timing of one finished operation.
 *
 * Output of bt_tracer_finish(); input of bt_metrics_record() for timings
 * measured elsewhere (then the caller fills op_name, total_ns, phase_ns,
 * phase_entries and the counters; gil_held_ns, gil_released_ns,
 * unattributed_ns and phase_count are derived by the library and ignored).
 */
typedef struct bt_timing {
  size_t struct_size;        /**< set by the caller: sizeof(bt_timing) */
  const char *op_name;       /**< interned operation name (process lifetime) */
  uint64_t total_ns;         /**< creation to finish */
  uint64_t unattributed_ns;  /**< total_ns minus the time inside phases and the
                                  GIL wait (which falls between phases; never
                                  below 0) */
  uint64_t gil_held_ns;      /**< time in phases whose GIL state is held */
  uint64_t gil_released_ns;  /**< time in phases whose GIL state is released */
  uint64_t gil_wait_ns;      /**< time spent waiting to reacquire the GIL */
  uint64_t items;            /**< items (documents) the operation handled */
  uint32_t gil_releases;     /**< times the GIL was released */
  uint32_t workers;          /**< parallel workers used (0 = not reported) */
  uint32_t flags;            /**< BT_TIMING_* bits */
  uint32_t phase_count;      /**< valid entries in the arrays below */
  uint64_t phase_ns[BT_MAX_PHASES];      /**< time per phase id */
  uint32_t phase_entries[BT_MAX_PHASES]; /**< times each phase was entered */
} bt_timing;
#define BT_TIMING_INIT {sizeof(bt_timing), NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, {0}, {0}}

/** Aggregates of one operation name in a snapshot. */
typedef struct bt_op_stats {
  size_t struct_size;        /**< set by the caller: sizeof(bt_op_stats) */
  const char *name;          /**< interned operation name (process lifetime) */
  uint64_t count;            /**< operations recorded */
  uint64_t errors;           /**< of which marked as errors */
  uint64_t left_open;        /**< of which finished with a phase still open */
  uint64_t items;            /**< items over all operations */
  uint64_t total_ns;         /**< sum of operation times */
  uint64_t gil_held_ns;      /**< sum of time in GIL-held phases */
  uint64_t gil_released_ns;  /**< sum of time in GIL-released phases */
  uint64_t gil_wait_ns;      /**< sum of measured GIL waits (BT_PHASE_GIL_WAIT) */
  uint64_t unattributed_ns;  /**< sum of time outside any phase and the wait */
  uint64_t gil_releases;     /**< GIL releases over all operations */
  uint64_t parallel_ops;     /**< operations that reported more than one worker */
  uint32_t workers_max;      /**< most workers any operation reported */
  uint32_t flags;            /**< BT_STATS_* bits */
} bt_op_stats;
/**
 * bt_op_stats.flags: a sum (time, items, GIL wait, phase time) would have
 * passed 2^64 - 1 and stopped there. Sums never wrap: a flagged figure is a
 * lower bound, and unattributed_ns is 0.
 */
#define BT_STATS_SATURATED 0x1u
#define BT_OP_STATS_INIT {sizeof(bt_op_stats), NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * Distribution of one phase (or BT_PHASE_TOTAL, BT_PHASE_GIL_WAIT) of one
 * operation.
 */
typedef struct bt_phase_stats {
  size_t struct_size;        /**< set by the caller: sizeof(bt_phase_stats) */
  const char *name;          /**< phase name, "total" or "GIL wait" (process lifetime) */
  bt_phase_id phase;         /**< the id asked for */
  int32_t gil_held;          /**< 1 held, 0 released, -1 for the pseudo-phases */
  uint64_t count;            /**< operations that entered the phase (samples) */
  uint64_t entries;          /**< times the phase was entered, summed */
  uint64_t sum_ns;           /**< time in the phase, summed */
  uint64_t min_ns;           /**< smallest per-operation time (0 if count 0) */
  uint64_t max_ns;           /**< largest per-operation time */
  uint64_t p50_ns;           /**< percentiles of the per-operation time, */
  uint64_t p90_ns;           /**< from a base-2 exponential histogram at */
  uint64_t p99_ns;           /**< scale 4: relative error at most 2^(1/32)-1
                                  (2.2 %, within 1/32), clamped to [min,max] */
  uint64_t p999_ns;
} bt_phase_stats;
#define BT_PHASE_STATS_INIT {sizeof(bt_phase_stats), NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * One non-empty histogram bucket: count samples in [lower_ns, upper_ns).
 * The histogram is base-2 exponential at scale 4 (OpenTelemetry's scale,
 * Prometheus' native-histogram schema): bucket i holds the values in
 * (2^(i/16), 2^((i+1)/16)] nanoseconds, zero has a bucket of its own, and the
 * bounds here are the integers each holds. The last bucket ends at 2^64: its
 * upper_ns is UINT64_MAX and includes it.
 */
typedef struct bt_bucket {
  uint64_t lower_ns;
  uint64_t upper_ns;
  uint64_t count;
} bt_bucket;

/** Facts about a snapshot as a whole. */
typedef struct bt_snapshot_info {
  size_t struct_size;        /**< set by the caller: sizeof(bt_snapshot_info) */
  size_t op_count;           /**< operations in the snapshot */
  uint64_t start_ns;         /**< bt_clock_now_ns() when its interval began */
  uint64_t end_ns;           /**< bt_clock_now_ns() when it was taken */
  uint32_t phase_count;      /**< phases registered when it was taken */
  uint32_t reserved_;        /**< zero */
  /* Since 0.1.0, for a shared directory (bt_snapshot_read_shared); 0 otherwise. */
  uint64_t dropped;          /**< records their processes could not keep (no room) */
  uint32_t processes;        /**< process slots merged, live and gone */
  uint32_t skipped;          /**< files left out (bt_snapshot_get_skipped) */
} bt_snapshot_info;
#define BT_SNAPSHOT_INFO_INIT {sizeof(bt_snapshot_info), 0, 0, 0, 0, 0, 0, 0, 0}

/** State of the timeline (the ring of individual operations, bt_timeline_start()). */
typedef struct bt_timeline_info {
  size_t struct_size;        /**< set by the caller: sizeof(bt_timeline_info) */
  uint64_t capacity;         /**< operations the ring holds (0 if never started) */
  uint64_t kept;             /**< operations in the ring now */
  uint64_t dropped;          /**< oldest operations dropped since the start */
  int32_t active;            /**< 1 while operations are being kept */
  uint32_t reserved_;        /**< zero */
} bt_timeline_info;
#define BT_TIMELINE_INFO_INIT {sizeof(bt_timeline_info), 0, 0, 0, 0, 0}

/** Machine-readable formats of a snapshot (docs/formats.md describes each). */
typedef enum bt_format {
  BT_FORMAT_TEXT = 0,        /**< the human report of bt_snapshot_format() */
  BT_FORMAT_JSON = 1,        /**< versioned JSON with histogram buckets */
  BT_FORMAT_PROMETHEUS = 2,  /**< Prometheus text exposition format 0.0.4 */
  BT_FORMAT_OPENMETRICS = 3, /**< OpenMetrics 1.0 text, ending with "# EOF" */
  BT_FORMAT_FOLDED = 4,      /**< folded stacks "op;phase nanoseconds" per line */
  /**
   * Prometheus protobuf exposition (delimited io.prometheus.client.MetricFamily)
   * with native histograms at schema 4 beside the classic buckets. Bytes, not
   * text: they may hold NULs, and `*needed` is their count. Since 0.1.0.
   */
  BT_FORMAT_PROMETHEUS_PROTOBUF = 5,
  /**
   * OTLP metrics, protobuf (an ExportMetricsServiceRequest, what an OTLP/HTTP
   * receiver takes at /v1/metrics): counters as monotonic sums, every
   * distribution an ExponentialHistogram at scale 4 with min, max and sum, in
   * ns; CUMULATIVE for a snapshot, DELTA for an interval of bt_metrics_take.
   * The resource names the host and the process (`host.name`,
   * `process.pid`), or for a merge of a shared directory the host and the
   * directory (`boundarytrace.shared_dir`, its canonical path), then adds
   * OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME as the OpenTelemetry SDKs
   * read them (docs/formats.md). Bytes, as BT_FORMAT_PROMETHEUS_PROTOBUF.
   * Since 0.1.0.
   */
  BT_FORMAT_OTLP_PROTOBUF = 6,
  /* Not formats: they make every int a valid bt_format in C++ too, so an
     out-of-range value from a C or FFI caller is rejected (BT_E_INVALID)
     rather than being undefined behaviour. */
  BT_FORMAT_RANGE_MIN_ = -0x7fffffff - 1,
  BT_FORMAT_RANGE_MAX_ = 0x7fffffff
} bt_format;

/* ------------------------------------------------------------------------- */
/* Library                                                                   */
/* ------------------------------------------------------------------------- */

#ifndef BT_DISABLE_TRACING

/**
 * Run-time version, BT_VERSION_NUMBER of the loaded library. Thread-safe.
 * Async-signal-safe, as are bt_version_string, bt_abi_version, bt_status_str,
 * bt_status_name and bt_is_enabled.
 */
BT_API unsigned bt_version(void);

/** Run-time version string, e.g. "0.1.0". Static storage. Thread-safe. */
BT_API const char *bt_version_string(void);

/**
 * Run-time ABI major, BT_ABI_VERSION of the loaded library (the N of its
 * SONAME libboundarytrace.so.N): an FFI user that loads the library by path
 * checks it equals the BT_ABI_VERSION its declarations follow. Thread-safe.
 * Since 0.1.0.
 */
BT_API unsigned bt_abi_version(void);

/** A sentence describing `status`; "unknown status" for other values. Static. */
BT_API const char *bt_status_str(int status);

/** The status' name, e.g. "BT_E_NULL"; "BT_E_UNKNOWN_STATUS" otherwise. Static. */
BT_API const char *bt_status_name(int status);

/**
 * Switches recording on (nonzero) or off (0) for the whole process, overriding
 * BOUNDARYTRACE_DISABLE. While off, tracer, phase, record and metrics-mutating
 * calls return BT_OK and record nothing; bt_tracer_new hands out a shared inert
 * tracer. Queries (snapshots, phase table, formatting) keep working.
 * Thread-safe. An operation in flight when the switch changes is recorded or
 * not by the switch at its finish: one that finishes while off records
 * nothing; one that finishes on is recorded whole, the phases it ran while
 * off included. While off its calls return BT_OK.
 */
BT_API void bt_set_enabled(int enabled);

/** 1 when recording is on, 0 when off. Thread-safe. */
BT_API int bt_is_enabled(void);

/* ------------------------------------------------------------------------- */
/* Clock                                                                     */
/* ------------------------------------------------------------------------- */

/**
 * Monotonic time in nanoseconds from the library's clock: the CPU time-stamp
 * counter when it is invariant (calibrated against CLOCK_MONOTONIC), else
 * CLOCK_MONOTONIC. BOUNDARYTRACE_CLOCK=os or =monotonic (read at load) forces
 * the OS clock; =auto or =tsc keeps the default.
 * Use it to measure timings for bt_metrics_record(). Thread-safe.
 * Async-signal-safe (its first use may wait up to 10 ms for the calibration,
 * which bt_op_reserve does beforehand).
 */
BT_API uint64_t bt_clock_now_ns(void);

/**
 * "tsc" or "monotonic": the clock in use. Static storage. Thread-safe.
 * Async-signal-safe.
 */
BT_API const char *bt_clock_source(void);

/* ------------------------------------------------------------------------- */
/* Phases (process-wide table)                                               */
/* ------------------------------------------------------------------------- */

/**
 * Registers a phase, or finds it when `name` is already registered.
 *
 * @param[out] out      the phase id (stable for the life of the process)
 * @param name          phase name (copied)
 * @param gil_held      nonzero if the GIL is held during the phase
 * @return BT_OK; BT_E_NULL (out or name NULL); BT_E_NAME; BT_E_CONFLICT (name
 *         registered with the other GIL state); BT_E_FULL (BT_MAX_PHASES
 *         reached); BT_E_NOMEM. Thread-safe. Works while disabled.
 */
BT_API bt_status bt_phase_register(bt_phase_id *out, const char *name, int gil_held);

/**
 * Finds a registered phase by name.
 * @return BT_OK; BT_E_NULL; BT_E_NAME; BT_E_NOT_FOUND. Thread-safe.
 */
BT_API bt_status bt_phase_lookup(bt_phase_id *out, const char *name);

/**
 * Name and GIL state of a registered phase. Either out pointer may be NULL.
 * `*name_out` points to interned storage (process lifetime).
 * @return BT_OK; BT_E_UNKNOWN_PHASE. Thread-safe.
 */
BT_API bt_status bt_phase_get_info(const char **name_out, int *gil_held_out, bt_phase_id phase);

/** Number of registered phases (ids are 0 .. count-1). Thread-safe. */
BT_API uint32_t bt_phase_count(void);

/* ------------------------------------------------------------------------- */
/* Metrics                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * The process-wide sink, used when a NULL metrics is passed. Never NULL, never
 * freed (bt_metrics_free ignores it). Thread-safe.
 */
BT_API bt_metrics *bt_metrics_global(void);

/**
 * Creates a private sink. Free it with bt_metrics_free() after every tracer
 * created against it has finished or been freed.
 * @return BT_OK; BT_E_NULL; BT_E_NOMEM. Thread-safe.
 */
BT_API bt_status bt_metrics_new(bt_metrics **out);

/** Frees a private sink and its bound operations. NULL and the global sink are ignored. */
BT_API void bt_metrics_free(bt_metrics *metrics);

/**
 * Looks an operation name up once and returns a handle for the hot path:
 * tracers created with bt_tracer_new_op() neither hash nor copy the name.
 * The handle belongs to `metrics` (NULL = global) and stays valid until it is
 * freed. Looking the same name up again returns the same handle.
 * @return BT_OK; BT_E_NULL; BT_E_NAME; BT_E_FULL (BT_MAX_OPS names); BT_E_NOMEM.
 *         Thread-safe.
 */
BT_API bt_status bt_op_lookup(bt_op **out, bt_metrics *metrics, const char *name);

/**
 * The interned name of a bound operation (process lifetime); NULL for NULL.
 * Async-signal-safe.
 */
BT_API const char *bt_op_name(const bt_op *op);

/**
 * Prepares the calling thread to trace `op` from a signal handler without
 * allocating (see Signals at the top): this thread's share of the operation's
 * aggregates gets room for every registered phase and every duration (about
 * 8.3 KiB for the total and each phase), the clock is calibrated, and the
 * thread gets a spare tracer. Call it on each thread the handler may run on,
 * after registering the phases the handler uses. Calling it again costs
 * little and changes nothing. Since 0.1.0.
 * @return BT_OK; BT_E_NULL; BT_E_NOMEM. Thread-safe. Works while disabled.
 */
BT_API bt_status bt_op_reserve(bt_op *op);

/**
 * Records a timing measured elsewhere, as if a tracer had finished it.
 * Reads the first timing->struct_size bytes; fields past it count as zero.
 * Phase times must be for registered phases and add up to at most total_ns.
 * @return BT_OK; BT_E_NULL (timing or op_name); BT_E_STRUCT_SIZE; BT_E_NAME;
 *         BT_E_UNKNOWN_PHASE (time or entries for an unregistered phase);
 *         BT_E_INVALID (phases longer than total_ns, or flags other than
 *         BT_TIMING_*); BT_E_FULL; BT_E_NOMEM. Nothing is recorded on error.
 *         While disabled: BT_OK, nothing recorded. Thread-safe.
 */
BT_API bt_status bt_metrics_record(bt_metrics *metrics, const bt_timing *timing);

/**
 * Copies the cumulative aggregates (since creation or the last reset) into a
 * new immutable snapshot, operations sorted by name. Every operation name
 * looked up in the metrics (bt_tracer_new, bt_op_lookup, bt_metrics_record)
 * is listed, with count 0 until an operation of it is recorded. Free it with
 * bt_snapshot_free(). Records concurrent with the call are either wholly in
 * the snapshot or wholly absent. Thread-safe.
 * @return BT_OK; BT_E_NULL (out); BT_E_NOMEM.
 */
BT_API bt_status bt_metrics_snapshot(bt_snapshot **out, bt_metrics *metrics);

/**
 * Interval reporting: atomically takes what was recorded since the previous
 * take (or creation, or reset) into `*interval_out` and starts a new interval.
 * The cumulative view is unaffected by takes; pass `cumulative_out` (may be
 * NULL) to get it at the same instant. Every record lands in exactly one
 * interval, so the intervals add up to the cumulative counts. Thread-safe.
 * @return BT_OK; BT_E_NULL (interval_out); BT_E_NOMEM (nothing is taken).
 */
BT_API bt_status bt_metrics_take(bt_snapshot **interval_out, bt_snapshot **cumulative_out,
                                 bt_metrics *metrics);

/**
 * Zeroes every aggregate (cumulative and interval). Bound operations stay
 * valid and registered. A record concurrent with the reset lands wholly
 * before or wholly after it. Thread-safe. Returns BT_OK (also while disabled,
 * when it does nothing).
 */
BT_API bt_status bt_metrics_reset(bt_metrics *metrics);

/* ------------------------------------------------------------------------- */
/* Shared sink: many processes, one picture                                  */
/* ------------------------------------------------------------------------- */

/**
 * Opens a sink whose figures live in the directory `dir` (on a tmpfs such as
 * /dev/shm or $XDG_RUNTIME_DIR), shared by every process that opens it: the
 * workers of a pre-fork server write into it and any process merges it
 * (bt_snapshot_read_shared). A missing `dir` is created with mode 0700; one
 * that group or others may write into, or that belongs to another user, is
 * refused (BT_E_IO, errno EACCES). The process takes a slot file of its own
 * there (mode 0600 plus the read bits the directory grants) and holds it
 * with a lock the kernel drops when the process dies; records then go into
 * it, lock-free between processes. Slots of processes that are gone are
 * folded into the directory's archive and reused, so the directory holds
 * the live processes' slots and three files more. A child forked from this
 * process takes a slot of its own at its first record; the BOUNDARYTRACE_SHARED_DIR
 * variable makes the global sink shared in the same way. On the sink,
 * bt_metrics_snapshot() merges the whole directory; bt_metrics_take() and
 * bt_metrics_reset() answer BT_E_INVALID (the figures belong to every
 * process). Free it with bt_metrics_free() (its slot is folded by the next
 * process that opens the directory). docs/formats.md describes the files.
 * Since 0.1.0.
 * @return BT_OK; BT_E_NULL; BT_E_IO (errno: EACCES for a directory refused,
 *         ENOSPC, ...; nothing is left behind but the directory and its
 *         lock file); BT_E_NOMEM. Thread-safe.
 */
BT_API bt_status bt_metrics_open_shared(bt_metrics **out, const char *dir);

/**
 * Merges every slot of the shared directory `dir`, live and gone, and its
 * archive into a new snapshot (cumulative; free it with bt_snapshot_free()).
 * Needs only read access. A file that is truncated, foreign, corrupted, or
 * written in a newer major format is left out whole and listed
 * (bt_snapshot_get_skipped); its bt_snapshot_info counts the processes
 * merged, the files skipped and the records the writers dropped for want of
 * room. A record a process is writing during the merge is in it or not; a
 * histogram is never torn (its count is the sum of its buckets). Since 0.1.0.
 * @return BT_OK; BT_E_NULL; BT_E_IO (the directory cannot be opened, or
 *         group or others may write into it: errno EACCES); BT_E_NOMEM.
 *         Thread-safe.
 */
BT_API bt_status bt_snapshot_read_shared(bt_snapshot **out, const char *dir);

/**
 * The `index`th file (0 .. skipped-1, see bt_snapshot_info) a merge left
 * out: its path and why. Both strings belong to the snapshot. Since 0.1.0.
 * @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND (index).
 */
BT_API bt_status bt_snapshot_get_skipped(const char **path_out, const char **reason_out,
                                         const bt_snapshot *snapshot, size_t index);

/* ------------------------------------------------------------------------- */
/* Tracer                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * Starts tracing one operation: the clock starts now.
 *
 * @param[out] out     the new tracer; free it with bt_tracer_free()
 * @param metrics      the sink bt_tracer_finish() records into; NULL = global
 * @param op_name      operation name (looked up; prefer bt_tracer_new_op in loops)
 * @return BT_OK; BT_E_NULL (out or op_name); BT_E_NAME; BT_E_FULL; BT_E_NOMEM.
 *         While disabled: BT_OK and a shared inert tracer on which every call
 *         returns BT_OK. Thread-safe.
 */
BT_API bt_status bt_tracer_new(bt_tracer **out, bt_metrics *metrics, const char *op_name);

/**
 * Starts tracing one operation of a bound handle: no hashing, no name copy.
 * Async-signal-safe (see Signals): the tracer is the thread's spare, else one
 * of a fixed reserve of 32, else malloc's (never in a handler that
 * interrupted the library: BT_E_NOMEM then).
 * @return BT_OK; BT_E_NULL; BT_E_NOMEM. While disabled as bt_tracer_new().
 */
BT_API bt_status bt_tracer_new_op(bt_tracer **out, bt_op *op);

/**
 * Enters a phase. One phase is open at a time; entering the same phase again
 * later accumulates its time and counts the entry. Async-signal-safe, as is
 * bt_phase_end.
 * @return BT_OK; BT_E_NULL; BT_E_UNKNOWN_PHASE; BT_E_PHASE_OPEN (a phase is
 *         already open; nothing changes); BT_E_FINISHED.
 */
BT_API bt_status bt_phase_begin(bt_tracer *tracer, bt_phase_id phase);

/**
 * Leaves the open phase, which must be `phase`.
 * @return BT_OK; BT_E_NULL; BT_E_UNKNOWN_PHASE; BT_E_PHASE_NOT_OPEN (no phase
 *         open, or another one is; nothing changes); BT_E_FINISHED.
 */
BT_API bt_status bt_phase_end(bt_tracer *tracer, bt_phase_id phase);

/**
 * Adds `n` items (documents) handled. Async-signal-safe, as are every
 * bt_tracer_add_* and bt_tracer_set_* call below.
 * @return BT_OK; BT_E_NULL; BT_E_FINISHED.
 */
BT_API bt_status bt_tracer_add_items(bt_tracer *tracer, uint64_t n);

/** Counts one release of the GIL. @return BT_OK; BT_E_NULL; BT_E_FINISHED. */
BT_API bt_status bt_tracer_add_gil_release(bt_tracer *tracer);

/**
 * Adds `ns` nanoseconds spent waiting to reacquire the GIL.
 * @return BT_OK; BT_E_NULL; BT_E_FINISHED.
 */
BT_API bt_status bt_tracer_add_gil_wait(bt_tracer *tracer, uint64_t ns);

/**
 * Reports the number of parallel workers the operation used (the largest value
 * reported wins). @return BT_OK; BT_E_NULL; BT_E_FINISHED.
 */
BT_API bt_status bt_tracer_set_workers(bt_tracer *tracer, uint32_t workers);

/** Marks the operation as failed. @return BT_OK; BT_E_NULL; BT_E_FINISHED. */
BT_API bt_status bt_tracer_set_error(bt_tracer *tracer);

/**
 * Stops the clock, closes a phase left open (setting BT_TIMING_PHASE_LEFT_OPEN)
 * and records the operation into the tracer's sink. Later calls on the tracer
 * return BT_E_FINISHED; free it with bt_tracer_free(). Async-signal-safe
 * while the timeline is off (see Signals: in a handler that interrupted the
 * library, the record is made after the free, when that call returns).
 * @return BT_OK; BT_E_NULL; BT_E_FINISHED; BT_E_NOMEM (the sink could not
 *         grow: the tracer is finished, the record is dropped).
 */
BT_API bt_status bt_tracer_finish(bt_tracer *tracer);

/**
 * bt_tracer_finish(), then copies the operation's timing into `out` (its first
 * out->struct_size bytes). Async-signal-safe as bt_tracer_finish. Since 0.1.0.
 * @return as bt_tracer_finish(), and BT_E_NULL (out); BT_E_STRUCT_SIZE (out
 *         too small: nothing is recorded, the tracer stays open). While
 *         disabled, or on the inert tracer: BT_OK and `out` untouched.
 */
BT_API bt_status bt_tracer_finish_timing(bt_timing *out, bt_tracer *tracer);

/**
 * Frees a tracer. A tracer freed before bt_tracer_finish() records nothing
 * (its operation name stays listed in snapshots, with the count it had).
 * NULL and the inert tracer are ignored. Async-signal-safe (see Signals).
 */
BT_API void bt_tracer_free(bt_tracer *tracer);

/* ------------------------------------------------------------------------- */
/* Snapshot                                                                  */
/* ------------------------------------------------------------------------- */

/** Frees a snapshot; NULL is ignored. */
BT_API void bt_snapshot_free(bt_snapshot *snapshot);

/** Facts about the snapshot. @return BT_OK; BT_E_NULL; BT_E_STRUCT_SIZE. */
BT_API bt_status bt_snapshot_get_info(bt_snapshot_info *out, const bt_snapshot *snapshot);

/** Number of operations in the snapshot. @return BT_OK; BT_E_NULL. */
BT_API bt_status bt_snapshot_op_count(size_t *out, const bt_snapshot *snapshot);

/**
 * Index of the operation called `name`.
 * @return BT_OK; BT_E_NULL; BT_E_NAME; BT_E_NOT_FOUND.
 */
BT_API bt_status bt_snapshot_find(size_t *index_out, const bt_snapshot *snapshot, const char *name);

/**
 * Aggregates of the operation at `index` (0 .. op_count-1).
 * @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND (index); BT_E_STRUCT_SIZE.
 */
BT_API bt_status bt_snapshot_op_stats(bt_op_stats *out, const bt_snapshot *snapshot, size_t index);

/**
 * Distribution of one phase (or BT_PHASE_TOTAL, BT_PHASE_GIL_WAIT) of the
 * operation at `index`. A registered phase the operation never entered, or
 * the wait of an operation that never released the GIL, gives count 0.
 * @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND; BT_E_UNKNOWN_PHASE; BT_E_STRUCT_SIZE.
 */
BT_API bt_status bt_snapshot_phase_stats(bt_phase_stats *out, const bt_snapshot *snapshot,
                                         size_t index, bt_phase_id phase);

/**
 * Any quantile `q` in [0, 1] of one phase (or a pseudo-phase): 0 gives the
 * minimum, 1 the maximum, 0 when there are no samples.
 * @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND; BT_E_UNKNOWN_PHASE; BT_E_INVALID
 *         (q outside [0, 1] or NaN).
 */
BT_API bt_status bt_snapshot_quantile(uint64_t *ns_out, const bt_snapshot *snapshot,
                                      size_t index, bt_phase_id phase, double q);

/**
 * Copies the non-empty histogram buckets of one phase (or a pseudo-phase),
 * in increasing order, into `buckets` (may be NULL when cap is 0).
 * `*count_out` receives the number of non-empty buckets, which may exceed cap
 * (then only cap are written; call again with a larger array).
 * Their counts add up to the phase's count.
 * @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND; BT_E_UNKNOWN_PHASE.
 */
BT_API bt_status bt_snapshot_buckets(bt_bucket *buckets, size_t cap,
                                     size_t *count_out, const bt_snapshot *snapshot, size_t index,
                                     bt_phase_id phase);

/* ------------------------------------------------------------------------- */
/* Text                                                                      */
/* ------------------------------------------------------------------------- */

/**
 * The human report of one operation: items and time per item, each entered
 * phase with its GIL state, time, share and entries, unattributed time, the
 * total, GIL held share, GIL wait and releases, workers, error and left-open
 * flags. snprintf semantics (see the top of this header); `buf` may be NULL
 * when cap is 0.
 * @return BT_OK; BT_E_NULL (timing or needed; buf with cap > 0);
 *         BT_E_STRUCT_SIZE; BT_E_NOMEM.
 */
BT_API bt_status bt_timing_format(char *buf, size_t cap, size_t *needed, const bt_timing *timing);

/**
 * The human report of a snapshot: per operation its count, errors, items and
 * time per item, then a table of phases (GIL state, total time, share, entries,
 * mean, p50, p90, p99, p99.9, max), unattributed time, the total, and GIL held
 * share, GIL wait and releases. snprintf semantics.
 * @return BT_OK; BT_E_NULL; BT_E_NOMEM.
 */
BT_API bt_status bt_snapshot_format(char *buf, size_t cap, size_t *needed,
                                    const bt_snapshot *snapshot);

/* ------------------------------------------------------------------------- */
/* Exports                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * Renders a snapshot in `format`. snprintf semantics (see the top of this
 * header); `buf` may be NULL when cap is 0.
 * @return BT_OK; BT_E_NULL; BT_E_INVALID (unknown format); BT_E_NOMEM.
 *         Thread-safe.
 */
BT_API bt_status bt_snapshot_export(char *buf, size_t cap, size_t *needed,
                                    const bt_snapshot *snapshot, bt_format format);

/**
 * Writes a snapshot in `format` to the file `path`, atomically: the text goes
 * to a temporary file beside it, which is then renamed over `path`, so a
 * reader sees the old file or the new one, never a part, however many
 * threads or processes write `path` at once (the last rename wins).
 * The temporary file, `<path>.tmp.<pid>.<n>`, is created exclusively
 * (O_EXCL | O_NOFOLLOW) at a name no other write uses: a file or link
 * already there is never opened. An existing `path` keeps its permission
 * bits; a new one gets 0644 less the umask.
 * Refused and left untouched, checked (lstat) before anything is opened, so
 * a FIFO never blocks: a `path` that is a symbolic link (BT_E_IO, errno
 * ELOOP: name the link's target instead), a directory (BT_E_IO, EISDIR), or
 * any other file that is not regular, such as a FIFO, a socket or a device
 * like /dev/null (BT_E_IO, EINVAL). A file put at `path` after that check
 * is replaced by the rename.
 * @return BT_OK; BT_E_NULL; BT_E_INVALID (unknown format or empty path);
 *         BT_E_IO (errno tells why; no temporary file is left); BT_E_NOMEM.
 */
BT_API bt_status bt_snapshot_write(const bt_snapshot *snapshot, bt_format format, const char *path);

/**
 * The format a file name asks for by its suffix: ".json" JSON, ".prom"
 * Prometheus, ".om" / ".openmetrics" OpenMetrics, ".folded" folded stacks,
 * ".txt" (or anything else) text.
 * @return BT_OK; BT_E_NULL.
 */
BT_API bt_status bt_format_for_path(bt_format *out, const char *path);

/* ------------------------------------------------------------------------- */
/* Timeline: individual operations (Chrome Trace Event JSON, Perfetto UI)    */
/* ------------------------------------------------------------------------- */

/** Largest capacity bt_timeline_start() accepts. */
#define BT_TIMELINE_MAX_CAPACITY (1u << 24)

/**
 * Starts keeping individual operations, process-wide, in a ring of
 * `capacity` operations (each with its phases as they happened); when it is
 * full the oldest is dropped and counted. Tracers created from now on are
 * kept when they finish. Starting again empties the ring.
 * BOUNDARYTRACE_TIMELINE=path (read at load) starts it with
 * BOUNDARYTRACE_TIMELINE_CAPACITY (default 10000) and writes it at exit.
 * Costs, while on: one lock per finished operation and ~24 bytes per phase
 * entry; while off, one predictable branch per phase call. The ring is
 * allocated when it starts: about 104 bytes per operation of capacity (so
 * BT_TIMELINE_MAX_CAPACITY takes about 1.6 GiB), plus the phases kept. The
 * name of the thread that finished an operation is kept with it, so the
 * ring holds no name of a thread whose operations it dropped.
 * @return BT_OK; BT_E_INVALID (capacity 0 or above BT_TIMELINE_MAX_CAPACITY);
 *         BT_E_NOMEM. Thread-safe.
 */
BT_API bt_status bt_timeline_start(size_t capacity);

/** Stops keeping operations; those kept stay for export. Thread-safe. */
BT_API bt_status bt_timeline_stop(void);

/** @return BT_OK; BT_E_NULL; BT_E_STRUCT_SIZE. Thread-safe. */
BT_API bt_status bt_timeline_get_info(bt_timeline_info *out);

/**
 * Renders the kept operations as Chrome Trace Event JSON, which Perfetto UI
 * and chrome://tracing open: each operation a complete slice ("ph":"X") on
 * the thread that finished it, its phases nested inside, GIL state, items and
 * error in "args", process and thread names as metadata (a thread's name
 * as the kernel keeps it, 15 bytes: a character cut there is dropped, bytes
 * that are not UTF-8 become U+FFFD, so the JSON is always valid UTF-8).
 * Timestamps are microseconds with three decimals, so nanoseconds survive.
 * Operations that overlap partially on one thread (interleaved tracers) go
 * to an extra track of that thread, because viewers reject partial
 * overlaps. snprintf semantics. @return BT_OK; BT_E_NULL; BT_E_NOMEM.
 * Thread-safe.
 */
BT_API bt_status bt_timeline_export(char *buf, size_t cap, size_t *needed);

/**
 * Writes bt_timeline_export()'s JSON to `path` atomically, with the same
 * temporary file, modes and refused targets as bt_snapshot_write.
 * @return BT_OK; BT_E_NULL; BT_E_INVALID (empty path); BT_E_IO; BT_E_NOMEM.
 */
BT_API bt_status bt_timeline_write(const char *path);

/**
 * The flight recorder of process `pid` in the shared directory `dir`, as
 * bt_timeline_export()'s JSON (the process's pid and name in it). While the
 * timeline is on, a process recording into a shared sink (bt_metrics_open_shared,
 * BOUNDARYTRACE_SHARED_DIR) also keeps its last 1024 operations (8 phases
 * each) in its slot file, where they outlive the process: a process killed
 * by a signal leaves its last operations readable, all but the one it was
 * writing. When a later process takes the slot over, the recorder is kept
 * aside as flight-<pid>.bt (the newest four). snprintf semantics. Since 0.1.0.
 * @return BT_OK; BT_E_NULL; BT_E_INVALID (empty dir, pid <= 0); BT_E_IO
 *         (the directory cannot be opened or is refused, see
 *         bt_snapshot_read_shared); BT_E_NOT_FOUND (no recorder of that pid);
 *         BT_E_NOMEM. Thread-safe.
 */
BT_API bt_status bt_timeline_export_shared(char *buf, size_t cap, size_t *needed, const char *dir,
                                           int64_t pid);

#else /* BT_DISABLE_TRACING */
#include "bt_noop.h"
#endif /* BT_DISABLE_TRACING */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BOUNDARYTRACE_BT_H */
