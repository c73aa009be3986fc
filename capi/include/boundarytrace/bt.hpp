/*
 * boundarytrace — header-only C++17 wrapper over the C API (bt.h).
 *
 * For C++ extension authors (pybind11, JNI, N-API, …) and for the bindings.
 * It adds RAII and exceptions on top of bt.h and nothing else: every call
 * goes through the stable C ABI, so a program using this header sees exactly
 * the behaviour a C program sees, and links against libboundarytrace.so only.
 *
 * Conventions (they hold for everything below):
 *  - Every fallible call throws bt::error, which carries the bt_status the C
 *    call returned. Nothing else is thrown, except std::bad_alloc from the
 *    standard library (strings and vectors built here).
 *  - Destructors never throw. Errors met in a destructor are ignored.
 *  - Owning classes (Metrics, Tracer, Snapshot) are move-only. A moved-from
 *    object owns nothing; its destructor does nothing and using it throws
 *    bt::error(BT_E_NULL).
 *  - Names are passed as NUL-terminated const char* and copied (interned) by
 *    the library. A const char* the library hands out (op_name(), the names
 *    in bt_op_stats and bt_phase_stats) stays valid for the life of the process.
 *  - Thread-safety follows bt.h: a Tracer (and its PhaseScope guards) belongs
 *    to one thread at a time and may be handed to another thread; Metrics,
 *    Op, Snapshot and the phase table may be used from any number of threads
 *    at once (const member functions of one object, or the free functions).
 *    Moving or assigning a wrapper object is not synchronised: do that from
 *    one thread.
 *
 * Compile-time off switch: with BT_DISABLE_TRACING defined before including
 * this header, bt.h turns every C function into an inline no-op returning
 * BT_OK, this wrapper keeps working (it records nothing, formats empty
 * strings) and the program needs no library at link time.
 *
 * Quick start:
 *
 *     #include <boundarytrace/bt.hpp>
 *
 *     static bt::Op insert_many = bt::Metrics::global().op("insert_many");
 *
 *     void insert(const Docs& docs) {
 *       bt::Tracer t(insert_many);            // records when it goes out of scope
 *       t.add_items(docs.size());
 *       { auto p = t.phase(bt::EXTRACT);  read(docs); }
 *       { auto p = t.phase(bt::CONVERT);  encode(); }
 *       { auto p = t.phase(bt::NETWORK);  send(); }
 *       { auto p = t.phase(bt::MATERIALIZE); build(); }
 *     }
 *
 *     std::puts(bt::Metrics::global().snapshot().format().c_str());
 */
#ifndef BOUNDARYTRACE_BT_HPP
#define BOUNDARYTRACE_BT_HPP

#include "bt.h"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bt {

/* ------------------------------------------------------------------------- */
/* Phases                                                                    */
/* ------------------------------------------------------------------------- */

/** Built-in phase: read interpreter objects into a native form; GIL held. */
constexpr bt_phase_id EXTRACT = BT_PHASE_EXTRACT;
/** Built-in phase: encode the native form; GIL released. */
constexpr bt_phase_id CONVERT = BT_PHASE_CONVERT;
/** Built-in phase: I/O with a server; GIL released. */
constexpr bt_phase_id NETWORK = BT_PHASE_NETWORK;
/** Built-in phase: build interpreter objects from the results; GIL held. */
constexpr bt_phase_id MATERIALIZE = BT_PHASE_MATERIALIZE;
/** Pseudo-phase for Snapshot queries: the whole operation. */
constexpr bt_phase_id TOTAL = BT_PHASE_TOTAL;

/* ------------------------------------------------------------------------- */
/* Errors                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * The exception every fallible call throws: a failed bt_status.
 *
 * what() reads "<NAME>: <sentence>", e.g. "BT_E_PHASE_OPEN: a phase is already
 * open on this tracer", followed by " (in <context>)" when a context (usually
 * the C function that failed) was given.
 */
class error : public std::runtime_error {
 public:
  /**
   * @param status   the failed status (kept as is, even if not a known code)
   * @param context  what was being done, e.g. "bt_phase_begin"; may be NULL
   * Throws std::bad_alloc only (building the message).
   */
  explicit error(bt_status status, const char *context = nullptr)
      : std::runtime_error(make_message(status, context)), status_(status) {}

  /** The bt_status the C call returned. */
  bt_status status() const noexcept { return status_; }

  /** The status' name, e.g. "BT_E_NAME" (static storage, bt_status_name()). */
  const char *name() const noexcept { return bt_status_name(status_); }

 private:
  static std::string make_message(bt_status status, const char *context) {
    std::string msg = bt_status_name(status);
    msg += ": ";
    msg += bt_status_str(status);
    if (context != nullptr && *context != '\0') {
      msg += " (in ";
      msg += context;
      msg += ')';
    }
    return msg;
  }

  bt_status status_;
};

/**
 * Throws bt::error(status, context) unless status is BT_OK.
 * @param context  what was being done (for the message); may be NULL
 */
inline void check(bt_status status, const char *context = nullptr) {
  if (status != BT_OK) throw error(status, context);
}

namespace detail {

/*
 * Runs an snprintf-style formatter `fn(buf, cap, &needed)` into a std::string:
 * first into a guess, then once more with exactly the size it asked for.
 * The inputs are immutable (a snapshot, a timing), so the second pass fits; the
 * loop is bounded anyway so a misbehaving formatter cannot spin forever.
 */
template <class Fn>
std::string format_with(Fn &&fn, const char *context) {
  std::string out(1024, '\0');
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::size_t needed = 0;
    check(fn(&out[0], out.size(), &needed), context);
    if (needed < out.size()) {  // fitted, NUL included
      out.resize(needed);
      return out;
    }
    out.assign(needed + 1, '\0');
  }
  throw error(BT_E_INTERNAL, context);
}

}  // namespace detail

/* ------------------------------------------------------------------------- */
/* Library                                                                   */
/* ------------------------------------------------------------------------- */

/** Run-time version of the loaded library (BT_VERSION_NUMBER form). Thread-safe. */
inline unsigned version() noexcept { return bt_version(); }

/** Run-time version string, e.g. "0.1.0" (static storage). Thread-safe. */
inline const char *version_string() noexcept { return bt_version_string(); }

/** Switches recording on or off for the whole process (bt_set_enabled). Thread-safe. */
inline void set_enabled(bool enabled) noexcept { bt_set_enabled(enabled ? 1 : 0); }

/** True when recording is on (bt_is_enabled). Thread-safe. */
inline bool is_enabled() noexcept { return bt_is_enabled() != 0; }

/** The library's monotonic clock in nanoseconds (bt_clock_now_ns). Thread-safe. */
inline std::uint64_t clock_now_ns() noexcept { return bt_clock_now_ns(); }

/** "tsc" or "monotonic": the clock in use (static storage). Thread-safe. */
inline const char *clock_source() noexcept { return bt_clock_source(); }

/* ------------------------------------------------------------------------- */
/* Phase table                                                               */
/* ------------------------------------------------------------------------- */

/**
 * Registers a phase, or finds it when `name` is already registered with the
 * same GIL state. The id is stable for the life of the process. Thread-safe.
 * Throws bt::error: BT_E_NULL, BT_E_NAME, BT_E_CONFLICT (registered with the
 * other GIL state), BT_E_FULL (BT_MAX_PHASES reached), BT_E_NOMEM.
 */
inline bt_phase_id register_phase(const char *name, bool gil_held) {
  bt_phase_id id = 0;
  check(bt_phase_register(&id, name, gil_held ? 1 : 0), "bt_phase_register");
  return id;
}

/**
 * The id of a registered phase. Thread-safe.
 * Throws bt::error: BT_E_NULL, BT_E_NAME, BT_E_NOT_FOUND.
 */
inline bt_phase_id lookup_phase(const char *name) {
  bt_phase_id id = 0;
  check(bt_phase_lookup(&id, name), "bt_phase_lookup");
  return id;
}

/** Name (interned, process lifetime) and GIL state of a registered phase. */
struct PhaseInfo {
  const char *name;
  bool gil_held;
};

/** Name and GIL state of phase `id`. Thread-safe. Throws bt::error(BT_E_UNKNOWN_PHASE). */
inline PhaseInfo phase_info(bt_phase_id id) {
  const char *name = nullptr;
  int held = 0;
  check(bt_phase_get_info(&name, &held, id), "bt_phase_get_info");
  return PhaseInfo{name, held != 0};
}

/** Number of registered phases; ids run 0 .. phase_count()-1. Thread-safe. */
inline std::uint32_t phase_count() noexcept { return bt_phase_count(); }

/* ------------------------------------------------------------------------- */
/* Timing                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * The timing of one operation: a value type around bt_timing (copyable).
 *
 * Returned by Tracer::finish(). Can also be filled in by hand (raw()) for a
 * timing measured elsewhere and passed to Metrics::record(); see bt_timing in
 * bt.h for which fields are read then. Accessors never throw, except
 * phase_ns()/phase_entries() on an id outside [0, BT_MAX_PHASES).
 */
class Timing {
 public:
  /** An empty timing (all zero, struct_size set, no op name). */
  Timing() noexcept : t_() { t_.struct_size = sizeof(bt_timing); }

  /** An empty timing for operation `op_name` (not copied: keep it alive until recorded). */
  explicit Timing(const char *op_name) noexcept : Timing() { t_.op_name = op_name; }

  /** Wraps a copy of `t` (struct_size is set to sizeof(bt_timing)). */
  explicit Timing(const bt_timing &t) noexcept : t_(t) { t_.struct_size = sizeof(bt_timing); }

  /** The underlying struct, for reading every field. */
  const bt_timing &raw() const noexcept { return t_; }
  /** The underlying struct, for filling in a timing measured elsewhere. */
  bt_timing &raw() noexcept { return t_; }

  /** Operation name (interned by the library once recorded or finished). */
  const char *op_name() const noexcept { return t_.op_name; }
  /** Creation to finish. */
  std::uint64_t total_ns() const noexcept { return t_.total_ns; }
  /** total_ns minus the time inside phases (boundary overhead). */
  std::uint64_t unattributed_ns() const noexcept { return t_.unattributed_ns; }
  /** Time in phases whose GIL state is held. */
  std::uint64_t gil_held_ns() const noexcept { return t_.gil_held_ns; }
  /** Time in phases whose GIL state is released. */
  std::uint64_t gil_released_ns() const noexcept { return t_.gil_released_ns; }
  /** Time spent waiting to reacquire the GIL. */
  std::uint64_t gil_wait_ns() const noexcept { return t_.gil_wait_ns; }
  /** Items (documents) the operation handled. */
  std::uint64_t items() const noexcept { return t_.items; }
  /** Times the GIL was released. */
  std::uint32_t gil_releases() const noexcept { return t_.gil_releases; }
  /** Parallel workers used (0 = not reported). */
  std::uint32_t workers() const noexcept { return t_.workers; }
  /** BT_TIMING_* bits. */
  std::uint32_t flags() const noexcept { return t_.flags; }
  /** The operation was marked as failed (BT_TIMING_ERROR). */
  bool is_error() const noexcept { return (t_.flags & BT_TIMING_ERROR) != 0; }
  /** finish() closed a phase left open (BT_TIMING_PHASE_LEFT_OPEN). */
  bool phase_left_open() const noexcept { return (t_.flags & BT_TIMING_PHASE_LEFT_OPEN) != 0; }
  /** Valid entries in the per-phase arrays. */
  std::uint32_t phase_count() const noexcept { return t_.phase_count; }

  /** Time in phase `id`. Throws bt::error(BT_E_UNKNOWN_PHASE) outside [0, BT_MAX_PHASES). */
  std::uint64_t phase_ns(bt_phase_id id) const { return t_.phase_ns[index(id)]; }
  /** Times phase `id` was entered. Throws as phase_ns(). */
  std::uint32_t phase_entries(bt_phase_id id) const { return t_.phase_entries[index(id)]; }

  /**
   * The human report of this operation (bt_timing_format).
   * Throws bt::error: BT_E_NOMEM; std::bad_alloc.
   */
  std::string format() const {
    return detail::format_with(
        [this](char *buf, std::size_t cap, std::size_t *needed) {
          return bt_timing_format(buf, cap, needed, &t_);
        },
        "bt_timing_format");
  }

 private:
  static std::size_t index(bt_phase_id id) {
    if (id < 0 || id >= BT_MAX_PHASES) throw error(BT_E_UNKNOWN_PHASE, "bt::Timing");
    return static_cast<std::size_t>(id);
  }

  bt_timing t_;
};

/* ------------------------------------------------------------------------- */
/* Snapshot                                                                  */
/* ------------------------------------------------------------------------- */

/**
 * An immutable copy of a sink's aggregates; owns a bt_snapshot* (move-only).
 *
 * Operations are indexed 0 .. size()-1, sorted by name. Every const member
 * function may be called from any number of threads at once. Structs returned
 * hold interned names (process lifetime), so they outlive the Snapshot.
 */
class Snapshot {
 public:
  /** Takes ownership of `s` (from bt_metrics_snapshot or bt_metrics_take); NULL allowed. */
  explicit Snapshot(bt_snapshot *s) noexcept : s_(s) {}
  ~Snapshot() { bt_snapshot_free(s_); }

  Snapshot(const Snapshot &) = delete;
  Snapshot &operator=(const Snapshot &) = delete;
  /** Takes `other`'s snapshot; `other` owns nothing afterwards. */
  Snapshot(Snapshot &&other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  /** Frees this snapshot, then takes `other`'s. */
  Snapshot &operator=(Snapshot &&other) noexcept {
    if (this != &other) {
      bt_snapshot_free(s_);
      s_ = std::exchange(other.s_, nullptr);
    }
    return *this;
  }

  /** The C handle, still owned by this object (NULL when moved from). */
  bt_snapshot *get() const noexcept { return s_; }
  /** Gives up ownership: the caller must bt_snapshot_free() the result. */
  bt_snapshot *release() noexcept { return std::exchange(s_, nullptr); }

  /**
   * The merge of the shared directory `dir` (bt_snapshot_read_shared).
   * Throws bt::error: BT_E_NULL, BT_E_INVALID, BT_E_IO, BT_E_NOMEM.
   */
  static Snapshot read_shared(const char *dir) {
    bt_snapshot *s = nullptr;
    check(bt_snapshot_read_shared(&s, dir), "bt_snapshot_read_shared");
    return Snapshot(s);
  }

  /** Facts about the snapshot as a whole. Throws bt::error(BT_E_NULL). */
  bt_snapshot_info info() const {
    bt_snapshot_info out = BT_SNAPSHOT_INFO_INIT;
    check(bt_snapshot_get_info(&out, s_), "bt_snapshot_get_info");
    return out;
  }

  /** Number of operations. Throws bt::error(BT_E_NULL). */
  std::size_t size() const {
    std::size_t n = 0;
    check(bt_snapshot_op_count(&n, s_), "bt_snapshot_op_count");
    return n;
  }

  /**
   * Index of the operation called `name`, or std::nullopt when absent.
   * Throws bt::error: BT_E_NULL, BT_E_NAME (an invalid name).
   */
  std::optional<std::size_t> find(const char *name) const {
    std::size_t index = 0;
    bt_status st = bt_snapshot_find(&index, s_, name);
    if (st == BT_E_NOT_FOUND) return std::nullopt;
    check(st, "bt_snapshot_find");
    return index;
  }
  /** As find(const char*). */
  std::optional<std::size_t> find(const std::string &name) const { return find(name.c_str()); }

  /** Aggregates of operation `index`. Throws bt::error: BT_E_NULL, BT_E_NOT_FOUND. */
  bt_op_stats op(std::size_t index) const {
    bt_op_stats out = BT_OP_STATS_INIT;
    check(bt_snapshot_op_stats(&out, s_, index), "bt_snapshot_op_stats");
    return out;
  }

  /**
   * Distribution of phase `id` (or bt::TOTAL) of operation `index`; count 0
   * for a registered phase the operation never entered.
   * Throws bt::error: BT_E_NULL, BT_E_NOT_FOUND, BT_E_UNKNOWN_PHASE.
   */
  bt_phase_stats phase(std::size_t index, bt_phase_id id) const {
    bt_phase_stats out = BT_PHASE_STATS_INIT;
    check(bt_snapshot_phase_stats(&out, s_, index, id), "bt_snapshot_phase_stats");
    return out;
  }

  /**
   * Quantile `q` in [0, 1] of phase `id` (or bt::TOTAL) of operation `index`;
   * 0 when there are no samples.
   * Throws bt::error: BT_E_NULL, BT_E_NOT_FOUND, BT_E_UNKNOWN_PHASE, BT_E_INVALID (q).
   */
  std::uint64_t quantile(std::size_t index, bt_phase_id id, double q) const {
    std::uint64_t ns = 0;
    check(bt_snapshot_quantile(&ns, s_, index, id, q), "bt_snapshot_quantile");
    return ns;
  }

  /**
   * The non-empty histogram buckets of phase `id` (or bt::TOTAL) of operation
   * `index`, in increasing order; their counts add up to the phase's count.
   * Throws bt::error: BT_E_NULL, BT_E_NOT_FOUND, BT_E_UNKNOWN_PHASE; std::bad_alloc.
   */
  std::vector<bt_bucket> buckets(std::size_t index, bt_phase_id id) const {
    std::vector<bt_bucket> out;
    std::size_t count = 0;
    check(bt_snapshot_buckets(nullptr, 0, &count, s_, index, id), "bt_snapshot_buckets");
    // The snapshot is immutable, so the second call fits; loop for safety.
    for (int attempt = 0; attempt < 4; ++attempt) {
      out.resize(count);
      std::size_t got = 0;
      check(bt_snapshot_buckets(out.data(), out.size(), &got, s_, index, id),
            "bt_snapshot_buckets");
      if (got <= out.size()) {
        out.resize(got);
        return out;
      }
      count = got;
    }
    throw error(BT_E_INTERNAL, "bt_snapshot_buckets");
  }

  /**
   * The human report of the whole snapshot (bt_snapshot_format).
   * Throws bt::error: BT_E_NULL, BT_E_NOMEM; std::bad_alloc.
   */
  std::string format() const {
    return detail::format_with(
        [this](char *buf, std::size_t cap, std::size_t *needed) {
          return bt_snapshot_format(buf, cap, needed, s_);
        },
        "bt_snapshot_format");
  }

 private:
  bt_snapshot *s_;
};

/** What Metrics::take() returns: the interval just closed and the cumulative view. */
struct TakeResult {
  Snapshot interval;    /**< records since the previous take (or creation, or reset) */
  Snapshot cumulative;  /**< everything since creation or the last reset */
};

/* ------------------------------------------------------------------------- */
/* Op                                                                        */
/* ------------------------------------------------------------------------- */

/**
 * A bound operation: a name looked up once in one sink (bt_op*), for the hot
 * path — a Tracer made from an Op neither hashes nor copies the name.
 *
 * Non-owning and cheap to copy. Valid as long as the sink it came from (the
 * global sink: forever; a private Metrics: until it is destroyed).
 * Thread-safe: share it freely, e.g. as a function-local static.
 */
class Op {
 public:
  /** Wraps a handle from bt_op_lookup() (not owned). */
  explicit Op(bt_op *op) noexcept : op_(op) {}

  /** The C handle. */
  bt_op *get() const noexcept { return op_; }
  /** The interned operation name (process lifetime); NULL for a NULL handle. */
  const char *name() const noexcept { return bt_op_name(op_); }

 private:
  bt_op *op_;
};

/* ------------------------------------------------------------------------- */
/* Metrics                                                                   */
/* ------------------------------------------------------------------------- */

/**
 * A sink that aggregates finished operations.
 *
 * `Metrics m;` creates and owns a private sink (bt_metrics_new), freed by the
 * destructor — destroy it only after every Tracer recording into it has
 * finished or been destroyed. Metrics::global() is a non-owning view of the
 * process-wide sink. Move-only. All member functions are thread-safe (bt.h).
 * A moved-from Metrics owns nothing and throws bt::error(BT_E_NULL) when used
 * (it never silently falls back to the global sink).
 */
class Metrics {
 public:
  /** Creates a private sink. Throws bt::error(BT_E_NOMEM). */
  Metrics() : m_(nullptr), owned_(true), valid_(true) {
    check(bt_metrics_new(&m_), "bt_metrics_new");
  }
  ~Metrics() {
    if (owned_) bt_metrics_free(m_);
  }

  /** A non-owning view of the process-wide sink (bt_metrics_global()). */
  static Metrics global() noexcept { return Metrics(bt_metrics_global(), false); }

  /**
   * A sink in the shared directory `dir`, owned (bt_metrics_open_shared):
   * many processes record into it, snapshot() merges them all.
   * Throws bt::error: BT_E_NULL, BT_E_INVALID, BT_E_IO (errno tells why;
   * EACCES for a directory others may write into), BT_E_NOMEM.
   */
  static Metrics open_shared(const char *dir) {
    bt_metrics *m = nullptr;
    check(bt_metrics_open_shared(&m, dir), "bt_metrics_open_shared");
    return Metrics(m, true);
  }

  /**
   * A non-owning view of `m` (NULL = the global sink). The caller keeps `m`
   * alive for as long as the view is used.
   */
  static Metrics borrow(bt_metrics *m) noexcept {
    return Metrics(m != nullptr ? m : bt_metrics_global(), false);
  }

  Metrics(const Metrics &) = delete;
  Metrics &operator=(const Metrics &) = delete;
  /** Takes `other`'s sink (or view); `other` is left empty. */
  Metrics(Metrics &&other) noexcept
      : m_(std::exchange(other.m_, nullptr)),
        owned_(std::exchange(other.owned_, false)),
        valid_(std::exchange(other.valid_, false)) {}
  /** Frees this sink if owned, then takes `other`'s; `other` is left empty. */
  Metrics &operator=(Metrics &&other) noexcept {
    if (this != &other) {
      if (owned_) bt_metrics_free(m_);
      m_ = std::exchange(other.m_, nullptr);
      owned_ = std::exchange(other.owned_, false);
      valid_ = std::exchange(other.valid_, false);
    }
    return *this;
  }

  /** The C handle (still owned by this object). Throws bt::error(BT_E_NULL) when moved from. */
  bt_metrics *get() const {
    if (!valid_) throw error(BT_E_NULL, "bt::Metrics (moved from)");
    return m_;
  }
  /** True for a private sink this object frees, false for a view. */
  bool owns() const noexcept { return owned_; }

  /**
   * A copy of the cumulative aggregates (bt_metrics_snapshot).
   * Throws bt::error: BT_E_NULL (moved from), BT_E_NOMEM.
   */
  Snapshot snapshot() const {
    bt_snapshot *s = nullptr;
    check(bt_metrics_snapshot(&s, get()), "bt_metrics_snapshot");
    return Snapshot(s);
  }

  /**
   * Interval reporting (bt_metrics_take): what was recorded since the previous
   * take, and the cumulative view at the same instant.
   * Throws bt::error: BT_E_NULL (moved from), BT_E_NOMEM (nothing is taken).
   */
  TakeResult take() const {
    bt_snapshot *interval = nullptr;
    bt_snapshot *cumulative = nullptr;
    check(bt_metrics_take(&interval, &cumulative, get()), "bt_metrics_take");
    return TakeResult{Snapshot(interval), Snapshot(cumulative)};
  }

  /** Zeroes every aggregate; bound Ops stay valid. Throws bt::error(BT_E_NULL) when moved from. */
  void reset() const { check(bt_metrics_reset(get()), "bt_metrics_reset"); }

  /**
   * Records a timing measured elsewhere (bt_metrics_record). Nothing is
   * recorded on error. Throws bt::error: BT_E_NULL, BT_E_STRUCT_SIZE,
   * BT_E_NAME, BT_E_UNKNOWN_PHASE, BT_E_INVALID, BT_E_FULL, BT_E_NOMEM.
   */
  void record(const bt_timing &timing) const {
    check(bt_metrics_record(get(), &timing), "bt_metrics_record");
  }
  /** As record(const bt_timing&). */
  void record(const Timing &timing) const { record(timing.raw()); }

  /**
   * Binds operation `name` in this sink for the hot path (bt_op_lookup).
   * The same name gives the same handle. Throws bt::error: BT_E_NULL,
   * BT_E_NAME, BT_E_FULL (BT_MAX_OPS names), BT_E_NOMEM.
   */
  Op op(const char *name) const {
    bt_op *o = nullptr;
    check(bt_op_lookup(&o, get(), name), "bt_op_lookup");
    return Op(o);
  }
  /** As op(const char*). */
  Op op(const std::string &name) const { return op(name.c_str()); }

 private:
  Metrics(bt_metrics *m, bool owned) noexcept : m_(m), owned_(owned), valid_(true) {}

  bt_metrics *m_;
  bool owned_;
  bool valid_;
};

/* ------------------------------------------------------------------------- */
/* Tracer                                                                    */
/* ------------------------------------------------------------------------- */

/**
 * Ends a phase when it goes out of scope: the RAII form of begin()/end().
 *
 * Made by Tracer::phase(id), which begins the phase (and throws if it cannot).
 * The destructor ends it and ignores any error (noexcept). Only one phase is
 * open on a tracer at a time, so guards do not nest: opening a second guard
 * while one is alive throws bt::error(BT_E_PHASE_OPEN) and leaves the first
 * one open. Guards follow their tracer's thread rules; the tracer must outlive
 * the guard (moving the Tracer is fine, it keeps the same C handle).
 * Move-only; a moved-from guard does nothing.
 */
class [[nodiscard]] PhaseScope {
 public:
  /** Begins `id` on `tracer`. Throws bt::error as bt_phase_begin. */
  PhaseScope(bt_tracer *tracer, bt_phase_id id) : t_(tracer), id_(id) {
    check(bt_phase_begin(t_, id_), "bt_phase_begin");
  }
  /** Ends the phase unless end() already did; errors are ignored. */
  ~PhaseScope() {
    if (t_ != nullptr) (void)bt_phase_end(t_, id_);
  }

  PhaseScope(const PhaseScope &) = delete;
  PhaseScope &operator=(const PhaseScope &) = delete;
  PhaseScope(PhaseScope &&other) noexcept
      : t_(std::exchange(other.t_, nullptr)), id_(other.id_) {}
  PhaseScope &operator=(PhaseScope &&) = delete;

  /** The phase this guard holds open. */
  bt_phase_id id() const noexcept { return id_; }

  /**
   * Ends the phase now instead of at scope exit; afterwards the guard does
   * nothing. Throws bt::error as bt_phase_end (the guard is then inert too).
   */
  void end() {
    bt_tracer *t = std::exchange(t_, nullptr);
    if (t != nullptr) check(bt_phase_end(t, id_), "bt_phase_end");
  }

 private:
  bt_tracer *t_;
  bt_phase_id id_;
};

/**
 * Traces one operation; owns a bt_tracer* (move-only). The clock starts in the
 * constructor.
 *
 * Finish explicitly with finish() to get the Timing, or let the destructor
 * finish it: an unfinished tracer is finished (recorded) and freed when it is
 * destroyed. If the destructor runs because an exception is unwinding the
 * stack (one thrown after the tracer was made), the operation is marked as
 * failed first. discard() frees it without recording.
 *
 * Thread-safety: one thread at a time; it may be handed to another thread.
 * Every call on a moved-from or discarded tracer throws bt::error(BT_E_NULL).
 */
class Tracer {
 public:
  /**
   * Starts tracing `op_name` into `metrics` (NULL or omitted = global sink).
   * Throws bt::error: BT_E_NULL (op_name), BT_E_NAME, BT_E_FULL, BT_E_NOMEM.
   */
  explicit Tracer(const char *op_name, bt_metrics *metrics = nullptr) { start(op_name, metrics); }
  /** As above, into `*metrics` (NULL = global). Also BT_E_NULL for a moved-from Metrics. */
  Tracer(const char *op_name, Metrics *metrics) {
    start(op_name, metrics != nullptr ? metrics->get() : nullptr);
  }
  /** As above, into `metrics`. */
  Tracer(const char *op_name, Metrics &metrics) { start(op_name, metrics.get()); }
  /** As above, into the global sink (resolves Tracer(name, nullptr)). */
  Tracer(const char *op_name, std::nullptr_t) { start(op_name, nullptr); }
  /** Starts tracing a bound operation (fast path). Throws bt::error: BT_E_NULL, BT_E_NOMEM. */
  explicit Tracer(Op op) : unwinding_(std::uncaught_exceptions()) {
    check(bt_tracer_new_op(&t_, op.get()), "bt_tracer_new_op");
  }

  /** Finishes the operation if it is not finished yet (errors ignored), then frees it. */
  ~Tracer() {
    if (t_ == nullptr) return;
    if (!finished_) {
      if (std::uncaught_exceptions() > unwinding_) (void)bt_tracer_set_error(t_);
      (void)bt_tracer_finish(t_);
    }
    bt_tracer_free(t_);
  }

  Tracer(const Tracer &) = delete;
  Tracer &operator=(const Tracer &) = delete;
  /** Takes `other`'s operation; `other` is left empty (its destructor does nothing). */
  Tracer(Tracer &&other) noexcept
      : t_(std::exchange(other.t_, nullptr)),
        finished_(std::exchange(other.finished_, false)),
        unwinding_(other.unwinding_) {}
  /** Finishes and frees this tracer's operation (as the destructor), then takes `other`'s. */
  Tracer &operator=(Tracer &&other) noexcept {
    if (this != &other) {
      Tracer old(std::move(*this));
      t_ = std::exchange(other.t_, nullptr);
      finished_ = std::exchange(other.finished_, false);
      unwinding_ = other.unwinding_;
    }
    return *this;
  }

  /** The C handle, still owned by this object (NULL when moved from or discarded). */
  bt_tracer *get() const noexcept { return t_; }
  /** True once finish() ran (successfully or not). */
  bool finished() const noexcept { return finished_; }

  /**
   * Enters phase `id`. Throws bt::error: BT_E_NULL, BT_E_UNKNOWN_PHASE,
   * BT_E_PHASE_OPEN (a phase is open; nothing changes), BT_E_FINISHED.
   */
  void begin(bt_phase_id id) { check(bt_phase_begin(t_, id), "bt_phase_begin"); }

  /**
   * Leaves the open phase, which must be `id`. Throws bt::error: BT_E_NULL,
   * BT_E_UNKNOWN_PHASE, BT_E_PHASE_NOT_OPEN (nothing changes), BT_E_FINISHED.
   */
  void end(bt_phase_id id) { check(bt_phase_end(t_, id), "bt_phase_end"); }

  /**
   * Enters phase `id` and returns a guard that leaves it at scope exit:
   * `{ auto p = t.phase(bt::CONVERT); encode(); }`. Throws as begin().
   */
  [[nodiscard]] PhaseScope phase(bt_phase_id id) { return PhaseScope(t_, id); }

  /** Adds `n` items (documents). Throws bt::error: BT_E_NULL, BT_E_FINISHED. */
  void add_items(std::uint64_t n) { check(bt_tracer_add_items(t_, n), "bt_tracer_add_items"); }

  /** Counts one release of the GIL. Throws bt::error: BT_E_NULL, BT_E_FINISHED. */
  void add_gil_release() { check(bt_tracer_add_gil_release(t_), "bt_tracer_add_gil_release"); }

  /** Adds `ns` spent waiting to reacquire the GIL. Throws bt::error: BT_E_NULL, BT_E_FINISHED. */
  void add_gil_wait(std::uint64_t ns) { check(bt_tracer_add_gil_wait(t_, ns), "bt_tracer_add_gil_wait"); }

  /** Reports `n` parallel workers (largest wins). Throws bt::error: BT_E_NULL, BT_E_FINISHED. */
  void set_workers(std::uint32_t n) { check(bt_tracer_set_workers(t_, n), "bt_tracer_set_workers"); }

  /** Marks the operation as failed. Throws bt::error: BT_E_NULL, BT_E_FINISHED. */
  void set_error() { check(bt_tracer_set_error(t_), "bt_tracer_set_error"); }

  /**
   * Stops the clock, closes a phase left open, records the operation and
   * returns its timing. Throws bt::error: BT_E_NULL, BT_E_FINISHED (already
   * finished), BT_E_NOMEM (finished, but the record was dropped).
   */
  Timing finish() {
    Timing out;
    bt_status st = bt_tracer_finish_timing(&out.raw(), t_);
    if (st == BT_OK || st == BT_E_FINISHED || st == BT_E_NOMEM) finished_ = true;
    check(st, "bt_tracer_finish");
    return out;
  }

  /** Frees the tracer without recording anything; later calls throw BT_E_NULL. Never throws. */
  void discard() noexcept {
    bt_tracer_free(std::exchange(t_, nullptr));
    finished_ = false;
  }

 private:
  void start(const char *op_name, bt_metrics *metrics) {
    unwinding_ = std::uncaught_exceptions();
    check(bt_tracer_new(&t_, metrics, op_name), "bt_tracer_new");
  }

  bt_tracer *t_ = nullptr;
  bool finished_ = false;
  int unwinding_ = 0;  // uncaught exceptions when the tracer was made
};

}  // namespace bt

#endif /* BOUNDARYTRACE_BT_HPP */
