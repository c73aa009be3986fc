// @generated from boundarytrace/bt.h 0.1.0 by tests/support (cheader.rs, render.rs).
// Do not edit: regenerate with
//   BT_SYS_REGENERATE=1 cargo test -p boundarytrace-sys --test bindings_match_header (or rust/regenerate-bindings)

use std::marker::{PhantomData, PhantomPinned};
#[allow(unused_imports)]
use std::os::raw::{c_char, c_int, c_uint, c_void};

pub const BT_VERSION_MAJOR: c_uint = 0;

pub const BT_VERSION_MINOR: c_uint = 1;

pub const BT_VERSION_PATCH: c_uint = 0;

/// MAJOR*10000 + MINOR*100 + PATCH, comparable with bt_version().
pub const BT_VERSION_NUMBER: c_uint = BT_VERSION_MAJOR * 10000 + BT_VERSION_MINOR * 100 + BT_VERSION_PATCH;

pub const BT_VERSION_STRING: &str = "0.1.0";

/// ABI major version: the SONAME is libboundarytrace.so.\<BT_ABI_VERSION>.
pub const BT_ABI_VERSION: c_uint = 1;

/// Phases in the process-wide table, the four built-in ones included.
pub const BT_MAX_PHASES: usize = 32;

/// Longest operation or phase name, in bytes (no terminating NUL).
pub const BT_NAME_MAX: usize = 255;

/// Distinct operation names one bt_metrics holds.
pub const BT_MAX_OPS: usize = 1024;

/// A C enum: an `int` here, so that any value the library returns is valid.
pub type bt_status = c_int;
/// success
pub const BT_OK: bt_status = 0;
/// a required handle or pointer is NULL
pub const BT_E_NULL: bt_status = -1;
/// an argument is out of range
pub const BT_E_INVALID: bt_status = -2;
/// name is empty, longer than BT_NAME_MAX bytes, not UTF-8, or has control characters
pub const BT_E_NAME: bt_status = -3;
/// unknown phase id
pub const BT_E_UNKNOWN_PHASE: bt_status = -4;
/// a phase is already open on this tracer
pub const BT_E_PHASE_OPEN: bt_status = -5;
/// that phase is not open on this tracer
pub const BT_E_PHASE_NOT_OPEN: bt_status = -6;
/// the tracer has already finished
pub const BT_E_FINISHED: bt_status = -7;
/// struct_size is smaller than the first version
pub const BT_E_STRUCT_SIZE: bt_status = -8;
/// out of memory
pub const BT_E_NOMEM: bt_status = -9;
/// a fixed-size table is full
pub const BT_E_FULL: bt_status = -10;
/// phase name already registered with the other GIL state
pub const BT_E_CONFLICT: bt_status = -11;
/// no such operation, or index out of range
pub const BT_E_NOT_FOUND: bt_status = -12;
/// internal error (please report)
pub const BT_E_INTERNAL: bt_status = -13;
/// a file could not be written (see errno)
pub const BT_E_IO: bt_status = -14;

/// One traced operation in flight. Created by bt_tracer_new().
///
/// Opaque: only pointers to it cross the ABI.
#[repr(C)]
pub struct bt_tracer {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A sink that aggregates finished operations. bt_metrics_global() or bt_metrics_new().
///
/// Opaque: only pointers to it cross the ABI.
#[repr(C)]
pub struct bt_metrics {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// A bound operation: an operation name looked up once in one bt_metrics.
///
/// Opaque: only pointers to it cross the ABI.
#[repr(C)]
pub struct bt_op {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An immutable copy of a bt_metrics' aggregates.
///
/// Opaque: only pointers to it cross the ABI.
#[repr(C)]
pub struct bt_snapshot {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Index into the process-wide phase table.
pub type bt_phase_id = i32;

/// read interpreter objects; GIL held
pub const BT_PHASE_EXTRACT: bt_phase_id = 0;

/// encode the native form; GIL released
pub const BT_PHASE_CONVERT: bt_phase_id = 1;

/// I/O with a server; GIL released
pub const BT_PHASE_NETWORK: bt_phase_id = 2;

/// build interpreter objects; GIL held
pub const BT_PHASE_MATERIALIZE: bt_phase_id = 3;

/// Pseudo-phase for snapshot queries: the whole operation.
pub const BT_PHASE_TOTAL: bt_phase_id = -1;

/// Pseudo-phase for snapshot queries: the time spent waiting to get the GIL
/// back (bt_tracer_add_gil_wait), one sample per operation that released the
/// GIL or measured a wait; its entries are the releases. Since 0.1.0.
pub const BT_PHASE_GIL_WAIT: bt_phase_id = -2;

/// bt_timing.flags: the operation was marked as failed.
pub const BT_TIMING_ERROR: u32 = 0x1;

/// bt_timing.flags: finish closed a phase that was still open.
pub const BT_TIMING_PHASE_LEFT_OPEN: u32 = 0x2;

/// The timing of one finished operation.
///
/// Output of bt_tracer_finish(); input of bt_metrics_record() for timings
/// measured elsewhere (then the caller fills op_name, total_ns, phase_ns,
/// phase_entries and the counters; gil_held_ns, gil_released_ns,
/// unattributed_ns and phase_count are derived by the library and ignored).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bt_timing {
    /// set by the caller: sizeof(bt_timing)
    pub struct_size: usize,
    /// interned operation name (process lifetime)
    pub op_name: *const c_char,
    /// creation to finish
    pub total_ns: u64,
    /// total_ns minus the time inside phases and the
    /// GIL wait (which falls between phases; never
    /// below 0)
    pub unattributed_ns: u64,
    /// time in phases whose GIL state is held
    pub gil_held_ns: u64,
    /// time in phases whose GIL state is released
    pub gil_released_ns: u64,
    /// time spent waiting to reacquire the GIL
    pub gil_wait_ns: u64,
    /// items (documents) the operation handled
    pub items: u64,
    /// times the GIL was released
    pub gil_releases: u32,
    /// parallel workers used (0 = not reported)
    pub workers: u32,
    /// BT_TIMING_* bits
    pub flags: u32,
    /// valid entries in the arrays below
    pub phase_count: u32,
    /// time per phase id
    pub phase_ns: [u64; BT_MAX_PHASES],
    /// times each phase was entered
    pub phase_entries: [u32; BT_MAX_PHASES],
}

impl bt_timing {
    /// All zeroes (NULL pointers) with `struct_size` set to this size: C's
    /// `BT_..._INIT`.
    pub fn new() -> Self {
        // SAFETY: integers and raw pointers, for which all zeroes is valid.
        let mut v: Self = unsafe { std::mem::zeroed() };
        v.struct_size = std::mem::size_of::<Self>();
        v
    }
}

impl Default for bt_timing {
    fn default() -> Self {
        Self::new()
    }
}

/// Aggregates of one operation name in a snapshot.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bt_op_stats {
    /// set by the caller: sizeof(bt_op_stats)
    pub struct_size: usize,
    /// interned operation name (process lifetime)
    pub name: *const c_char,
    /// operations recorded
    pub count: u64,
    /// of which marked as errors
    pub errors: u64,
    /// of which finished with a phase still open
    pub left_open: u64,
    /// items over all operations
    pub items: u64,
    /// sum of operation times
    pub total_ns: u64,
    /// sum of time in GIL-held phases
    pub gil_held_ns: u64,
    /// sum of time in GIL-released phases
    pub gil_released_ns: u64,
    /// sum of measured GIL waits (BT_PHASE_GIL_WAIT)
    pub gil_wait_ns: u64,
    /// sum of time outside any phase and the wait
    pub unattributed_ns: u64,
    /// GIL releases over all operations
    pub gil_releases: u64,
    /// operations that reported more than one worker
    pub parallel_ops: u64,
    /// most workers any operation reported
    pub workers_max: u32,
    /// BT_STATS_* bits
    pub flags: u32,
}

impl bt_op_stats {
    /// All zeroes (NULL pointers) with `struct_size` set to this size: C's
    /// `BT_..._INIT`.
    pub fn new() -> Self {
        // SAFETY: integers and raw pointers, for which all zeroes is valid.
        let mut v: Self = unsafe { std::mem::zeroed() };
        v.struct_size = std::mem::size_of::<Self>();
        v
    }
}

impl Default for bt_op_stats {
    fn default() -> Self {
        Self::new()
    }
}

/// bt_op_stats.flags: a sum (time, items, GIL wait, phase time) would have
/// passed 2^64 - 1 and stopped there. Sums never wrap: a flagged figure is a
/// lower bound, and unattributed_ns is 0.
pub const BT_STATS_SATURATED: u32 = 0x1;

/// Distribution of one phase (or BT_PHASE_TOTAL, BT_PHASE_GIL_WAIT) of one
/// operation.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bt_phase_stats {
    /// set by the caller: sizeof(bt_phase_stats)
    pub struct_size: usize,
    /// phase name, "total" or "GIL wait" (process lifetime)
    pub name: *const c_char,
    /// the id asked for
    pub phase: bt_phase_id,
    /// 1 held, 0 released, -1 for the pseudo-phases
    pub gil_held: i32,
    /// operations that entered the phase (samples)
    pub count: u64,
    /// times the phase was entered, summed
    pub entries: u64,
    /// time in the phase, summed
    pub sum_ns: u64,
    /// smallest per-operation time (0 if count 0)
    pub min_ns: u64,
    /// largest per-operation time
    pub max_ns: u64,
    /// percentiles of the per-operation time,
    pub p50_ns: u64,
    /// from a base-2 exponential histogram at
    pub p90_ns: u64,
    /// scale 4: relative error at most 2^(1/32)-1
    /// (2.2 %, within 1/32), clamped to \[min,max\]
    pub p99_ns: u64,
    pub p999_ns: u64,
}

impl bt_phase_stats {
    /// All zeroes (NULL pointers) with `struct_size` set to this size: C's
    /// `BT_..._INIT`.
    pub fn new() -> Self {
        // SAFETY: integers and raw pointers, for which all zeroes is valid.
        let mut v: Self = unsafe { std::mem::zeroed() };
        v.struct_size = std::mem::size_of::<Self>();
        v
    }
}

impl Default for bt_phase_stats {
    fn default() -> Self {
        Self::new()
    }
}

/// One non-empty histogram bucket: count samples in \[lower_ns, upper_ns).
/// The histogram is base-2 exponential at scale 4 (OpenTelemetry's scale,
/// Prometheus' native-histogram schema): bucket i holds the values in
/// (2^(i/16), 2^((i+1)/16)\] nanoseconds, zero has a bucket of its own, and the
/// bounds here are the integers each holds. The last bucket ends at 2^64: its
/// upper_ns is UINT64_MAX and includes it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bt_bucket {
    pub lower_ns: u64,
    pub upper_ns: u64,
    pub count: u64,
}

/// Facts about a snapshot as a whole.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bt_snapshot_info {
    /// set by the caller: sizeof(bt_snapshot_info)
    pub struct_size: usize,
    /// operations in the snapshot
    pub op_count: usize,
    /// bt_clock_now_ns() when its interval began
    pub start_ns: u64,
    /// bt_clock_now_ns() when it was taken
    pub end_ns: u64,
    /// phases registered when it was taken
    pub phase_count: u32,
    /// zero
    pub reserved_: u32,
    /// records their processes could not keep (no room)
    pub dropped: u64,
    /// process slots merged, live and gone
    pub processes: u32,
    /// files left out (bt_snapshot_get_skipped)
    pub skipped: u32,
}

impl bt_snapshot_info {
    /// All zeroes (NULL pointers) with `struct_size` set to this size: C's
    /// `BT_..._INIT`.
    pub fn new() -> Self {
        // SAFETY: integers and raw pointers, for which all zeroes is valid.
        let mut v: Self = unsafe { std::mem::zeroed() };
        v.struct_size = std::mem::size_of::<Self>();
        v
    }
}

impl Default for bt_snapshot_info {
    fn default() -> Self {
        Self::new()
    }
}

/// State of the timeline (the ring of individual operations, bt_timeline_start()).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bt_timeline_info {
    /// set by the caller: sizeof(bt_timeline_info)
    pub struct_size: usize,
    /// operations the ring holds (0 if never started)
    pub capacity: u64,
    /// operations in the ring now
    pub kept: u64,
    /// oldest operations dropped since the start
    pub dropped: u64,
    /// 1 while operations are being kept
    pub active: i32,
    /// zero
    pub reserved_: u32,
}

impl bt_timeline_info {
    /// All zeroes (NULL pointers) with `struct_size` set to this size: C's
    /// `BT_..._INIT`.
    pub fn new() -> Self {
        // SAFETY: integers and raw pointers, for which all zeroes is valid.
        let mut v: Self = unsafe { std::mem::zeroed() };
        v.struct_size = std::mem::size_of::<Self>();
        v
    }
}

impl Default for bt_timeline_info {
    fn default() -> Self {
        Self::new()
    }
}

/// Machine-readable formats of a snapshot (docs/formats.md describes each).
///
/// A C enum: an `int` here, so that any value the library returns is valid.
pub type bt_format = c_int;
/// the human report of bt_snapshot_format()
pub const BT_FORMAT_TEXT: bt_format = 0;
/// versioned JSON with histogram buckets
pub const BT_FORMAT_JSON: bt_format = 1;
/// Prometheus text exposition format 0.0.4
pub const BT_FORMAT_PROMETHEUS: bt_format = 2;
/// OpenMetrics 1.0 text, ending with "# EOF"
pub const BT_FORMAT_OPENMETRICS: bt_format = 3;
/// folded stacks "op;phase nanoseconds" per line
pub const BT_FORMAT_FOLDED: bt_format = 4;
/// Prometheus protobuf exposition (delimited io.prometheus.client.MetricFamily)
/// with native histograms at schema 4 beside the classic buckets. Bytes, not
/// text: they may hold NULs, and `*needed` is their count. Since 0.1.0.
pub const BT_FORMAT_PROMETHEUS_PROTOBUF: bt_format = 5;
/// OTLP metrics, protobuf (an ExportMetricsServiceRequest, what an OTLP/HTTP
/// receiver takes at /v1/metrics): counters as monotonic sums, every
/// distribution an ExponentialHistogram at scale 4 with min, max and sum, in
/// ns; CUMULATIVE for a snapshot, DELTA for an interval of bt_metrics_take.
/// The resource names the host and the process (`host.name`,
/// `process.pid`), or for a merge of a shared directory the host and the
/// directory (`boundarytrace.shared_dir`, its canonical path), then adds
/// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME as the OpenTelemetry SDKs
/// read them (docs/formats.md). Bytes, as BT_FORMAT_PROMETHEUS_PROTOBUF.
/// Since 0.1.0.
pub const BT_FORMAT_OTLP_PROTOBUF: bt_format = 6;

/// Largest capacity bt_timeline_start() accepts.
pub const BT_TIMELINE_MAX_CAPACITY: usize = 1 << 24;

extern "C" {
    /// Run-time version, BT_VERSION_NUMBER of the loaded library. Thread-safe.
    /// Async-signal-safe, as are bt_version_string, bt_abi_version, bt_status_str,
    /// bt_status_name and bt_is_enabled.
    pub fn bt_version() -> c_uint;

    /// Run-time version string, e.g. "0.1.0". Static storage. Thread-safe.
    pub fn bt_version_string() -> *const c_char;

    /// Run-time ABI major, BT_ABI_VERSION of the loaded library (the N of its
    /// SONAME libboundarytrace.so.N): an FFI user that loads the library by path
    /// checks it equals the BT_ABI_VERSION its declarations follow. Thread-safe.
    /// Since 0.1.0.
    pub fn bt_abi_version() -> c_uint;

    /// A sentence describing `status`; "unknown status" for other values. Static.
    pub fn bt_status_str(status: c_int) -> *const c_char;

    /// The status' name, e.g. "BT_E_NULL"; "BT_E_UNKNOWN_STATUS" otherwise. Static.
    pub fn bt_status_name(status: c_int) -> *const c_char;

    /// Switches recording on (nonzero) or off (0) for the whole process, overriding
    /// BOUNDARYTRACE_DISABLE. While off, tracer, phase, record and metrics-mutating
    /// calls return BT_OK and record nothing; bt_tracer_new hands out a shared inert
    /// tracer. Queries (snapshots, phase table, formatting) keep working.
    /// Thread-safe. An operation in flight when the switch changes is recorded or
    /// not by the switch at its finish: one that finishes while off records
    /// nothing; one that finishes on is recorded whole, the phases it ran while
    /// off included. While off its calls return BT_OK.
    pub fn bt_set_enabled(enabled: c_int);

    /// 1 when recording is on, 0 when off. Thread-safe.
    pub fn bt_is_enabled() -> c_int;

    /// Monotonic time in nanoseconds from the library's clock: the CPU time-stamp
    /// counter when it is invariant (calibrated against CLOCK_MONOTONIC), else
    /// CLOCK_MONOTONIC. BOUNDARYTRACE_CLOCK=os or =monotonic (read at load) forces
    /// the OS clock; =auto or =tsc keeps the default.
    /// Use it to measure timings for bt_metrics_record(). Thread-safe.
    /// Async-signal-safe (its first use may wait up to 10 ms for the calibration,
    /// which bt_op_reserve does beforehand).
    pub fn bt_clock_now_ns() -> u64;

    /// "tsc" or "monotonic": the clock in use. Static storage. Thread-safe.
    /// Async-signal-safe.
    pub fn bt_clock_source() -> *const c_char;

    /// Registers a phase, or finds it when `name` is already registered.
    ///
    /// @param\[out\] out      the phase id (stable for the life of the process)
    /// @param name          phase name (copied)
    /// @param gil_held      nonzero if the GIL is held during the phase
    /// @return BT_OK; BT_E_NULL (out or name NULL); BT_E_NAME; BT_E_CONFLICT (name
    /// registered with the other GIL state); BT_E_FULL (BT_MAX_PHASES
    /// reached); BT_E_NOMEM. Thread-safe. Works while disabled.
    pub fn bt_phase_register(out: *mut bt_phase_id, name: *const c_char, gil_held: c_int) -> bt_status;

    /// Finds a registered phase by name.
    /// @return BT_OK; BT_E_NULL; BT_E_NAME; BT_E_NOT_FOUND. Thread-safe.
    pub fn bt_phase_lookup(out: *mut bt_phase_id, name: *const c_char) -> bt_status;

    /// Name and GIL state of a registered phase. Either out pointer may be NULL.
    /// `*name_out` points to interned storage (process lifetime).
    /// @return BT_OK; BT_E_UNKNOWN_PHASE. Thread-safe.
    pub fn bt_phase_get_info(name_out: *mut *const c_char, gil_held_out: *mut c_int, phase: bt_phase_id) -> bt_status;

    /// Number of registered phases (ids are 0 .. count-1). Thread-safe.
    pub fn bt_phase_count() -> u32;

    /// The process-wide sink, used when a NULL metrics is passed. Never NULL, never
    /// freed (bt_metrics_free ignores it). Thread-safe.
    pub fn bt_metrics_global() -> *mut bt_metrics;

    /// Creates a private sink. Free it with bt_metrics_free() after every tracer
    /// created against it has finished or been freed.
    /// @return BT_OK; BT_E_NULL; BT_E_NOMEM. Thread-safe.
    pub fn bt_metrics_new(out: *mut *mut bt_metrics) -> bt_status;

    /// Frees a private sink and its bound operations. NULL and the global sink are ignored.
    pub fn bt_metrics_free(metrics: *mut bt_metrics);

    /// Looks an operation name up once and returns a handle for the hot path:
    /// tracers created with bt_tracer_new_op() neither hash nor copy the name.
    /// The handle belongs to `metrics` (NULL = global) and stays valid until it is
    /// freed. Looking the same name up again returns the same handle.
    /// @return BT_OK; BT_E_NULL; BT_E_NAME; BT_E_FULL (BT_MAX_OPS names); BT_E_NOMEM.
    /// Thread-safe.
    pub fn bt_op_lookup(out: *mut *mut bt_op, metrics: *mut bt_metrics, name: *const c_char) -> bt_status;

    /// The interned name of a bound operation (process lifetime); NULL for NULL.
    /// Async-signal-safe.
    pub fn bt_op_name(op: *const bt_op) -> *const c_char;

    /// Prepares the calling thread to trace `op` from a signal handler without
    /// allocating (see Signals at the top): this thread's share of the operation's
    /// aggregates gets room for every registered phase and every duration (about
    /// 8.3 KiB for the total and each phase), the clock is calibrated, and the
    /// thread gets a spare tracer. Call it on each thread the handler may run on,
    /// after registering the phases the handler uses. Calling it again costs
    /// little and changes nothing. Since 0.1.0.
    /// @return BT_OK; BT_E_NULL; BT_E_NOMEM. Thread-safe. Works while disabled.
    pub fn bt_op_reserve(op: *mut bt_op) -> bt_status;

    /// Records a timing measured elsewhere, as if a tracer had finished it.
    /// Reads the first timing->struct_size bytes; fields past it count as zero.
    /// Phase times must be for registered phases and add up to at most total_ns.
    /// @return BT_OK; BT_E_NULL (timing or op_name); BT_E_STRUCT_SIZE; BT_E_NAME;
    /// BT_E_UNKNOWN_PHASE (time or entries for an unregistered phase);
    /// BT_E_INVALID (phases longer than total_ns, or flags other than
    /// BT_TIMING_*); BT_E_FULL; BT_E_NOMEM. Nothing is recorded on error.
    /// While disabled: BT_OK, nothing recorded. Thread-safe.
    pub fn bt_metrics_record(metrics: *mut bt_metrics, timing: *const bt_timing) -> bt_status;

    /// Copies the cumulative aggregates (since creation or the last reset) into a
    /// new immutable snapshot, operations sorted by name. Every operation name
    /// looked up in the metrics (bt_tracer_new, bt_op_lookup, bt_metrics_record)
    /// is listed, with count 0 until an operation of it is recorded. Free it with
    /// bt_snapshot_free(). Records concurrent with the call are either wholly in
    /// the snapshot or wholly absent. Thread-safe.
    /// @return BT_OK; BT_E_NULL (out); BT_E_NOMEM.
    pub fn bt_metrics_snapshot(out: *mut *mut bt_snapshot, metrics: *mut bt_metrics) -> bt_status;

    /// Interval reporting: atomically takes what was recorded since the previous
    /// take (or creation, or reset) into `*interval_out` and starts a new interval.
    /// The cumulative view is unaffected by takes; pass `cumulative_out` (may be
    /// NULL) to get it at the same instant. Every record lands in exactly one
    /// interval, so the intervals add up to the cumulative counts. Thread-safe.
    /// @return BT_OK; BT_E_NULL (interval_out); BT_E_NOMEM (nothing is taken).
    pub fn bt_metrics_take(interval_out: *mut *mut bt_snapshot, cumulative_out: *mut *mut bt_snapshot, metrics: *mut bt_metrics) -> bt_status;

    /// Zeroes every aggregate (cumulative and interval). Bound operations stay
    /// valid and registered. A record concurrent with the reset lands wholly
    /// before or wholly after it. Thread-safe. Returns BT_OK (also while disabled,
    /// when it does nothing).
    pub fn bt_metrics_reset(metrics: *mut bt_metrics) -> bt_status;

    /// Opens a sink whose figures live in the directory `dir` (on a tmpfs such as
    /// /dev/shm or $XDG_RUNTIME_DIR), shared by every process that opens it: the
    /// workers of a pre-fork server write into it and any process merges it
    /// (bt_snapshot_read_shared). A missing `dir` is created with mode 0700; one
    /// that group or others may write into, or that belongs to another user, is
    /// refused (BT_E_IO, errno EACCES). The process takes a slot file of its own
    /// there (mode 0600 plus the read bits the directory grants) and holds it
    /// with a lock the kernel drops when the process dies; records then go into
    /// it, lock-free between processes. Slots of processes that are gone are
    /// folded into the directory's archive and reused, so the directory holds
    /// the live processes' slots and three files more. A child forked from this
    /// process takes a slot of its own at its first record; the BOUNDARYTRACE_SHARED_DIR
    /// variable makes the global sink shared in the same way. On the sink,
    /// bt_metrics_snapshot() merges the whole directory; bt_metrics_take() and
    /// bt_metrics_reset() answer BT_E_INVALID (the figures belong to every
    /// process). Free it with bt_metrics_free() (its slot is folded by the next
    /// process that opens the directory). docs/formats.md describes the files.
    /// Since 0.1.0.
    /// @return BT_OK; BT_E_NULL; BT_E_IO (errno: EACCES for a directory refused,
    /// ENOSPC, ...; nothing is left behind but the directory and its
    /// lock file); BT_E_NOMEM. Thread-safe.
    pub fn bt_metrics_open_shared(out: *mut *mut bt_metrics, dir: *const c_char) -> bt_status;

    /// Merges every slot of the shared directory `dir`, live and gone, and its
    /// archive into a new snapshot (cumulative; free it with bt_snapshot_free()).
    /// Needs only read access. A file that is truncated, foreign, corrupted, or
    /// written in a newer major format is left out whole and listed
    /// (bt_snapshot_get_skipped); its bt_snapshot_info counts the processes
    /// merged, the files skipped and the records the writers dropped for want of
    /// room. A record a process is writing during the merge is in it or not; a
    /// histogram is never torn (its count is the sum of its buckets). Since 0.1.0.
    /// @return BT_OK; BT_E_NULL; BT_E_IO (the directory cannot be opened, or
    /// group or others may write into it: errno EACCES); BT_E_NOMEM.
    /// Thread-safe.
    pub fn bt_snapshot_read_shared(out: *mut *mut bt_snapshot, dir: *const c_char) -> bt_status;

    /// The `index`th file (0 .. skipped-1, see bt_snapshot_info) a merge left
    /// out: its path and why. Both strings belong to the snapshot. Since 0.1.0.
    /// @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND (index).
    pub fn bt_snapshot_get_skipped(path_out: *mut *const c_char, reason_out: *mut *const c_char, snapshot: *const bt_snapshot, index: usize) -> bt_status;

    /// Starts tracing one operation: the clock starts now.
    ///
    /// @param\[out\] out     the new tracer; free it with bt_tracer_free()
    /// @param metrics      the sink bt_tracer_finish() records into; NULL = global
    /// @param op_name      operation name (looked up; prefer bt_tracer_new_op in loops)
    /// @return BT_OK; BT_E_NULL (out or op_name); BT_E_NAME; BT_E_FULL; BT_E_NOMEM.
    /// While disabled: BT_OK and a shared inert tracer on which every call
    /// returns BT_OK. Thread-safe.
    pub fn bt_tracer_new(out: *mut *mut bt_tracer, metrics: *mut bt_metrics, op_name: *const c_char) -> bt_status;

    /// Starts tracing one operation of a bound handle: no hashing, no name copy.
    /// Async-signal-safe (see Signals): the tracer is the thread's spare, else one
    /// of a fixed reserve of 32, else malloc's (never in a handler that
    /// interrupted the library: BT_E_NOMEM then).
    /// @return BT_OK; BT_E_NULL; BT_E_NOMEM. While disabled as bt_tracer_new().
    pub fn bt_tracer_new_op(out: *mut *mut bt_tracer, op: *mut bt_op) -> bt_status;

    /// Enters a phase. One phase is open at a time; entering the same phase again
    /// later accumulates its time and counts the entry. Async-signal-safe, as is
    /// bt_phase_end.
    /// @return BT_OK; BT_E_NULL; BT_E_UNKNOWN_PHASE; BT_E_PHASE_OPEN (a phase is
    /// already open; nothing changes); BT_E_FINISHED.
    pub fn bt_phase_begin(tracer: *mut bt_tracer, phase: bt_phase_id) -> bt_status;

    /// Leaves the open phase, which must be `phase`.
    /// @return BT_OK; BT_E_NULL; BT_E_UNKNOWN_PHASE; BT_E_PHASE_NOT_OPEN (no phase
    /// open, or another one is; nothing changes); BT_E_FINISHED.
    pub fn bt_phase_end(tracer: *mut bt_tracer, phase: bt_phase_id) -> bt_status;

    /// Adds `n` items (documents) handled. Async-signal-safe, as are every
    /// bt_tracer_add_* and bt_tracer_set_* call below.
    /// @return BT_OK; BT_E_NULL; BT_E_FINISHED.
    pub fn bt_tracer_add_items(tracer: *mut bt_tracer, n: u64) -> bt_status;

    /// Counts one release of the GIL. @return BT_OK; BT_E_NULL; BT_E_FINISHED.
    pub fn bt_tracer_add_gil_release(tracer: *mut bt_tracer) -> bt_status;

    /// Adds `ns` nanoseconds spent waiting to reacquire the GIL.
    /// @return BT_OK; BT_E_NULL; BT_E_FINISHED.
    pub fn bt_tracer_add_gil_wait(tracer: *mut bt_tracer, ns: u64) -> bt_status;

    /// Reports the number of parallel workers the operation used (the largest value
    /// reported wins). @return BT_OK; BT_E_NULL; BT_E_FINISHED.
    pub fn bt_tracer_set_workers(tracer: *mut bt_tracer, workers: u32) -> bt_status;

    /// Marks the operation as failed. @return BT_OK; BT_E_NULL; BT_E_FINISHED.
    pub fn bt_tracer_set_error(tracer: *mut bt_tracer) -> bt_status;

    /// Stops the clock, closes a phase left open (setting BT_TIMING_PHASE_LEFT_OPEN)
    /// and records the operation into the tracer's sink. Later calls on the tracer
    /// return BT_E_FINISHED; free it with bt_tracer_free(). Async-signal-safe
    /// while the timeline is off (see Signals: in a handler that interrupted the
    /// library, the record is made after the free, when that call returns).
    /// @return BT_OK; BT_E_NULL; BT_E_FINISHED; BT_E_NOMEM (the sink could not
    /// grow: the tracer is finished, the record is dropped).
    pub fn bt_tracer_finish(tracer: *mut bt_tracer) -> bt_status;

    /// bt_tracer_finish(), then copies the operation's timing into `out` (its first
    /// out->struct_size bytes). Async-signal-safe as bt_tracer_finish. Since 0.1.0.
    /// @return as bt_tracer_finish(), and BT_E_NULL (out); BT_E_STRUCT_SIZE (out
    /// too small: nothing is recorded, the tracer stays open). While
    /// disabled, or on the inert tracer: BT_OK and `out` untouched.
    pub fn bt_tracer_finish_timing(out: *mut bt_timing, tracer: *mut bt_tracer) -> bt_status;

    /// Frees a tracer. A tracer freed before bt_tracer_finish() records nothing
    /// (its operation name stays listed in snapshots, with the count it had).
    /// NULL and the inert tracer are ignored. Async-signal-safe (see Signals).
    pub fn bt_tracer_free(tracer: *mut bt_tracer);

    /// Frees a snapshot; NULL is ignored.
    pub fn bt_snapshot_free(snapshot: *mut bt_snapshot);

    /// Facts about the snapshot. @return BT_OK; BT_E_NULL; BT_E_STRUCT_SIZE.
    pub fn bt_snapshot_get_info(out: *mut bt_snapshot_info, snapshot: *const bt_snapshot) -> bt_status;

    /// Number of operations in the snapshot. @return BT_OK; BT_E_NULL.
    pub fn bt_snapshot_op_count(out: *mut usize, snapshot: *const bt_snapshot) -> bt_status;

    /// Index of the operation called `name`.
    /// @return BT_OK; BT_E_NULL; BT_E_NAME; BT_E_NOT_FOUND.
    pub fn bt_snapshot_find(index_out: *mut usize, snapshot: *const bt_snapshot, name: *const c_char) -> bt_status;

    /// Aggregates of the operation at `index` (0 .. op_count-1).
    /// @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND (index); BT_E_STRUCT_SIZE.
    pub fn bt_snapshot_op_stats(out: *mut bt_op_stats, snapshot: *const bt_snapshot, index: usize) -> bt_status;

    /// Distribution of one phase (or BT_PHASE_TOTAL, BT_PHASE_GIL_WAIT) of the
    /// operation at `index`. A registered phase the operation never entered, or
    /// the wait of an operation that never released the GIL, gives count 0.
    /// @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND; BT_E_UNKNOWN_PHASE; BT_E_STRUCT_SIZE.
    pub fn bt_snapshot_phase_stats(out: *mut bt_phase_stats, snapshot: *const bt_snapshot, index: usize, phase: bt_phase_id) -> bt_status;

    /// Any quantile `q` in \[0, 1\] of one phase (or a pseudo-phase): 0 gives the
    /// minimum, 1 the maximum, 0 when there are no samples.
    /// @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND; BT_E_UNKNOWN_PHASE; BT_E_INVALID
    /// (q outside \[0, 1\] or NaN).
    pub fn bt_snapshot_quantile(ns_out: *mut u64, snapshot: *const bt_snapshot, index: usize, phase: bt_phase_id, q: f64) -> bt_status;

    /// Copies the non-empty histogram buckets of one phase (or a pseudo-phase),
    /// in increasing order, into `buckets` (may be NULL when cap is 0).
    /// `*count_out` receives the number of non-empty buckets, which may exceed cap
    /// (then only cap are written; call again with a larger array).
    /// Their counts add up to the phase's count.
    /// @return BT_OK; BT_E_NULL; BT_E_NOT_FOUND; BT_E_UNKNOWN_PHASE.
    pub fn bt_snapshot_buckets(buckets: *mut bt_bucket, cap: usize, count_out: *mut usize, snapshot: *const bt_snapshot, index: usize, phase: bt_phase_id) -> bt_status;

    /// The human report of one operation: items and time per item, each entered
    /// phase with its GIL state, time, share and entries, unattributed time, the
    /// total, GIL held share, GIL wait and releases, workers, error and left-open
    /// flags. snprintf semantics (see the top of this header); `buf` may be NULL
    /// when cap is 0.
    /// @return BT_OK; BT_E_NULL (timing or needed; buf with cap > 0);
    /// BT_E_STRUCT_SIZE; BT_E_NOMEM.
    pub fn bt_timing_format(buf: *mut c_char, cap: usize, needed: *mut usize, timing: *const bt_timing) -> bt_status;

    /// The human report of a snapshot: per operation its count, errors, items and
    /// time per item, then a table of phases (GIL state, total time, share, entries,
    /// mean, p50, p90, p99, p99.9, max), unattributed time, the total, and GIL held
    /// share, GIL wait and releases. snprintf semantics.
    /// @return BT_OK; BT_E_NULL; BT_E_NOMEM.
    pub fn bt_snapshot_format(buf: *mut c_char, cap: usize, needed: *mut usize, snapshot: *const bt_snapshot) -> bt_status;

    /// Renders a snapshot in `format`. snprintf semantics (see the top of this
    /// header); `buf` may be NULL when cap is 0.
    /// @return BT_OK; BT_E_NULL; BT_E_INVALID (unknown format); BT_E_NOMEM.
    /// Thread-safe.
    pub fn bt_snapshot_export(buf: *mut c_char, cap: usize, needed: *mut usize, snapshot: *const bt_snapshot, format: bt_format) -> bt_status;

    /// Writes a snapshot in `format` to the file `path`, atomically: the text goes
    /// to a temporary file beside it, which is then renamed over `path`, so a
    /// reader sees the old file or the new one, never a part, however many
    /// threads or processes write `path` at once (the last rename wins).
    /// The temporary file, `\<path>.tmp.\<pid>.\<n>`, is created exclusively
    /// (O_EXCL | O_NOFOLLOW) at a name no other write uses: a file or link
    /// already there is never opened. An existing `path` keeps its permission
    /// bits; a new one gets 0644 less the umask.
    /// Refused and left untouched, checked (lstat) before anything is opened, so
    /// a FIFO never blocks: a `path` that is a symbolic link (BT_E_IO, errno
    /// ELOOP: name the link's target instead), a directory (BT_E_IO, EISDIR), or
    /// any other file that is not regular, such as a FIFO, a socket or a device
    /// like /dev/null (BT_E_IO, EINVAL). A file put at `path` after that check
    /// is replaced by the rename.
    /// @return BT_OK; BT_E_NULL; BT_E_INVALID (unknown format or empty path);
    /// BT_E_IO (errno tells why; no temporary file is left); BT_E_NOMEM.
    pub fn bt_snapshot_write(snapshot: *const bt_snapshot, format: bt_format, path: *const c_char) -> bt_status;

    /// The format a file name asks for by its suffix: ".json" JSON, ".prom"
    /// Prometheus, ".om" / ".openmetrics" OpenMetrics, ".folded" folded stacks,
    /// ".txt" (or anything else) text.
    /// @return BT_OK; BT_E_NULL.
    pub fn bt_format_for_path(out: *mut bt_format, path: *const c_char) -> bt_status;

    /// Starts keeping individual operations, process-wide, in a ring of
    /// `capacity` operations (each with its phases as they happened); when it is
    /// full the oldest is dropped and counted. Tracers created from now on are
    /// kept when they finish. Starting again empties the ring.
    /// BOUNDARYTRACE_TIMELINE=path (read at load) starts it with
    /// BOUNDARYTRACE_TIMELINE_CAPACITY (default 10000) and writes it at exit.
    /// Costs, while on: one lock per finished operation and ~24 bytes per phase
    /// entry; while off, one predictable branch per phase call. The ring is
    /// allocated when it starts: about 104 bytes per operation of capacity (so
    /// BT_TIMELINE_MAX_CAPACITY takes about 1.6 GiB), plus the phases kept. The
    /// name of the thread that finished an operation is kept with it, so the
    /// ring holds no name of a thread whose operations it dropped.
    /// @return BT_OK; BT_E_INVALID (capacity 0 or above BT_TIMELINE_MAX_CAPACITY);
    /// BT_E_NOMEM. Thread-safe.
    pub fn bt_timeline_start(capacity: usize) -> bt_status;

    /// Stops keeping operations; those kept stay for export. Thread-safe.
    pub fn bt_timeline_stop() -> bt_status;

    /// @return BT_OK; BT_E_NULL; BT_E_STRUCT_SIZE. Thread-safe.
    pub fn bt_timeline_get_info(out: *mut bt_timeline_info) -> bt_status;

    /// Renders the kept operations as Chrome Trace Event JSON, which Perfetto UI
    /// and chrome://tracing open: each operation a complete slice ("ph":"X") on
    /// the thread that finished it, its phases nested inside, GIL state, items and
    /// error in "args", process and thread names as metadata (a thread's name
    /// as the kernel keeps it, 15 bytes: a character cut there is dropped, bytes
    /// that are not UTF-8 become U+FFFD, so the JSON is always valid UTF-8).
    /// Timestamps are microseconds with three decimals, so nanoseconds survive.
    /// Operations that overlap partially on one thread (interleaved tracers) go
    /// to an extra track of that thread, because viewers reject partial
    /// overlaps. snprintf semantics. @return BT_OK; BT_E_NULL; BT_E_NOMEM.
    /// Thread-safe.
    pub fn bt_timeline_export(buf: *mut c_char, cap: usize, needed: *mut usize) -> bt_status;

    /// Writes bt_timeline_export()'s JSON to `path` atomically, with the same
    /// temporary file, modes and refused targets as bt_snapshot_write.
    /// @return BT_OK; BT_E_NULL; BT_E_INVALID (empty path); BT_E_IO; BT_E_NOMEM.
    pub fn bt_timeline_write(path: *const c_char) -> bt_status;

    /// The flight recorder of process `pid` in the shared directory `dir`, as
    /// bt_timeline_export()'s JSON (the process's pid and name in it). While the
    /// timeline is on, a process recording into a shared sink (bt_metrics_open_shared,
    /// BOUNDARYTRACE_SHARED_DIR) also keeps its last 1024 operations (8 phases
    /// each) in its slot file, where they outlive the process: a process killed
    /// by a signal leaves its last operations readable, all but the one it was
    /// writing. When a later process takes the slot over, the recorder is kept
    /// aside as flight-\<pid>.bt (the newest four). snprintf semantics. Since 0.1.0.
    /// @return BT_OK; BT_E_NULL; BT_E_INVALID (empty dir, pid \<= 0); BT_E_IO
    /// (the directory cannot be opened or is refused, see
    /// bt_snapshot_read_shared); BT_E_NOT_FOUND (no recorder of that pid);
    /// BT_E_NOMEM. Thread-safe.
    pub fn bt_timeline_export_shared(buf: *mut c_char, cap: usize, needed: *mut usize, dir: *const c_char, pid: i64) -> bt_status;
}
