//! A thin safe Rust wrapper over the boundarytrace C API.
//!
//! The declarations in [`ffi`] are written by hand from docs/ffi.md (no
//! bindgen): the few functions this extension calls, with the C types they
//! have in `boundarytrace/bt.h`. The safe layer on top:
//!
//! - [`Op`]: an operation name looked up once in the process-wide sink.
//! - [`Tracer`]: one traced operation (RAII). [`Tracer::finish`] records it and
//!   returns its [`Timing`] (`bt_tracer_finish_timing`); a tracer dropped without `finish` (an early
//!   return through `?`, a panic) is marked as failed and recorded too, then
//!   freed — as `with boundarytrace.trace(...)` does on an exception.
//! - [`PhaseGuard`]: a phase, ended when the guard drops.
//! - [`Tracer::allow_threads`]: releases the GIL around a closure (pyo3's
//!   `py.allow_threads`), counts the release with `bt_tracer_add_gil_release`, and
//!   measures how long taking the GIL back took (`bt_clock_now_ns` around the
//!   reacquire) into `bt_tracer_add_gil_wait`. Open the released phases (convert,
//!   network) inside the closure: the GIL wait then falls outside every phase,
//!   as with the pybind11 helper (boundarytrace/pybind11.hpp).
//!
//! Thread-safety follows bt.h: a tracer belongs to one thread at a time and
//! may move between threads, so [`Tracer`] is `Send` but not `Sync`; [`Op`] is
//! both.
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::ptr::{self, NonNull};

use pyo3::Python;

/// The C declarations (docs/ffi.md). Statuses are `int`: 0 ok, negative error.
#[allow(non_camel_case_types)]
pub mod ffi {
    use std::os::raw::{c_char, c_int, c_uint};

    /// Opaque handles: only pointers to them cross the ABI.
    #[repr(C)]
    pub struct bt_tracer {
        _private: [u8; 0],
    }
    #[repr(C)]
    pub struct bt_metrics {
        _private: [u8; 0],
    }
    #[repr(C)]
    pub struct bt_op {
        _private: [u8; 0],
    }

    pub const BT_MAX_PHASES: usize = 32;

    /// Filled by bt_tracer_finish_timing; `struct_size` set by the caller first.
    #[repr(C)]
    pub struct bt_timing {
        pub struct_size: usize,
        pub op_name: *const c_char,
        pub total_ns: u64,
        pub unattributed_ns: u64,
        pub gil_held_ns: u64,
        pub gil_released_ns: u64,
        pub gil_wait_ns: u64,
        pub items: u64,
        pub gil_releases: u32,
        pub workers: u32,
        pub flags: u32,
        pub phase_count: u32,
        pub phase_ns: [u64; BT_MAX_PHASES],
        pub phase_entries: [u32; BT_MAX_PHASES],
    }

    extern "C" {
        pub fn bt_version() -> c_uint;
        pub fn bt_version_string() -> *const c_char;
        pub fn bt_status_name(status: c_int) -> *const c_char;
        pub fn bt_clock_now_ns() -> u64;
        pub fn bt_op_lookup(
            out: *mut *mut bt_op,
            metrics: *mut bt_metrics,
            name: *const c_char,
        ) -> c_int;
        pub fn bt_tracer_new_op(out: *mut *mut bt_tracer, op: *mut bt_op) -> c_int;
        pub fn bt_phase_begin(tracer: *mut bt_tracer, phase: i32) -> c_int;
        pub fn bt_phase_end(tracer: *mut bt_tracer, phase: i32) -> c_int;
        pub fn bt_tracer_add_items(tracer: *mut bt_tracer, n: u64) -> c_int;
        pub fn bt_tracer_add_gil_release(tracer: *mut bt_tracer) -> c_int;
        pub fn bt_tracer_add_gil_wait(tracer: *mut bt_tracer, ns: u64) -> c_int;
        pub fn bt_tracer_set_workers(tracer: *mut bt_tracer, workers: u32) -> c_int;
        pub fn bt_tracer_set_error(tracer: *mut bt_tracer) -> c_int;
        pub fn bt_tracer_finish(tracer: *mut bt_tracer) -> c_int;
        pub fn bt_tracer_finish_timing(out: *mut bt_timing, tracer: *mut bt_tracer) -> c_int;
        pub fn bt_tracer_free(tracer: *mut bt_tracer);
    }

    // Unused by this extension but part of the same small surface, and checked
    // at link time: a renamed symbol fails the build, not the first call.
    extern "C" {
        pub fn bt_phase_register(out: *mut i32, name: *const c_char, gil_held: c_int) -> c_int;
    }

    /// Statuses this wrapper produces or tests for itself.
    pub const BT_E_NAME: c_int = -3; // what a name with an interior NUL would get
    pub const BT_E_FINISHED: c_int = -7;
    pub const BT_E_INTERNAL: c_int = -13;
    /// The release these declarations were written for (BT_VERSION_NUMBER 0.1.0).
    pub const WANT_VERSION_MIN: c_uint = 100;
    pub const WANT_VERSION_MAJOR: c_uint = 0;
}

/// A failed call: the C function and the negative status it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    pub call: &'static str,
    pub status: i32,
}

impl Error {
    /// The status' name, e.g. "BT_E_PHASE_OPEN" (bt_status_name).
    pub fn name(&self) -> &'static str {
        // Static storage in the library (bt.h).
        unsafe { static_str(ffi::bt_status_name(self.status)) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {} ({})", self.call, self.name(), self.status)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(status: c_int, call: &'static str) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(Error { call, status })
    }
}

/// A string the library keeps for the life of the process (static text,
/// interned names).
unsafe fn static_str(p: *const c_char) -> &'static str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("")
    }
}

/// bt_version() of the loaded library: MAJOR*10000 + MINOR*100 + PATCH.
pub fn version() -> u32 {
    unsafe { ffi::bt_version() }
}

/// bt_version_string() of the loaded library.
pub fn version_string() -> &'static str {
    unsafe { static_str(ffi::bt_version_string()) }
}

/// Checks the loaded library against the release these declarations were
/// written for: the same release major and at least that version.
pub fn check_version() -> std::result::Result<u32, String> {
    let v = version();
    if v / 10000 != ffi::WANT_VERSION_MAJOR || v < ffi::WANT_VERSION_MIN {
        return Err(format!(
            "libboundarytrace {} is not compatible: this extension needs {}.x, at least {}",
            version_string(),
            ffi::WANT_VERSION_MAJOR,
            ffi::WANT_VERSION_MIN
        ));
    }
    Ok(v)
}

/// The library's monotonic clock, in nanoseconds.
pub fn now_ns() -> u64 {
    unsafe { ffi::bt_clock_now_ns() }
}

/// A phase id of the process-wide phase table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase(pub i32);

pub const EXTRACT: Phase = Phase(0);
pub const CONVERT: Phase = Phase(1);
pub const NETWORK: Phase = Phase(2);
pub const MATERIALIZE: Phase = Phase(3);

impl Phase {
    /// Registers a phase (or finds it when already registered with that GIL state).
    #[allow(dead_code)]
    pub fn register(name: &str, gil_held: bool) -> Result<Phase> {
        let name = c_name(name, "bt_phase_register")?;
        let mut id = -1;
        check(
            unsafe { ffi::bt_phase_register(&mut id, name.as_ptr(), gil_held as c_int) },
            "bt_phase_register",
        )?;
        Ok(Phase(id))
    }
}

fn c_name(name: &str, call: &'static str) -> Result<CString> {
    CString::new(name).map_err(|_| Error {
        call,
        status: ffi::BT_E_NAME,
    })
}

/// An operation name bound once in the process-wide sink (bt_op_lookup); the
/// handle stays valid for the life of the process.
#[derive(Debug, Clone, Copy)]
pub struct Op(NonNull<ffi::bt_op>);

// bt.h: bound operations of a sink are safe from any number of threads; the
// global sink is never freed.
unsafe impl Send for Op {}
unsafe impl Sync for Op {}

impl Op {
    /// Looks `name` up in the global sink (bt_metrics_global()).
    pub fn global(name: &str) -> Result<Op> {
        let name = c_name(name, "bt_op_lookup")?;
        let mut out = ptr::null_mut();
        check(
            unsafe { ffi::bt_op_lookup(&mut out, ptr::null_mut(), name.as_ptr()) },
            "bt_op_lookup",
        )?;
        NonNull::new(out).map(Op).ok_or(Error {
            call: "bt_op_lookup",
            status: ffi::BT_E_INTERNAL,
        })
    }
}

/// The timing of one finished operation (a copy of bt_timing's figures).
#[derive(Debug, Clone)]
pub struct Timing {
    pub op_name: &'static str,
    pub total_ns: u64,
    pub gil_held_ns: u64,
    pub gil_released_ns: u64,
    pub gil_wait_ns: u64,
    pub unattributed_ns: u64,
    pub items: u64,
    pub gil_releases: u32,
    pub workers: u32,
    pub error: bool,
    /// (time, entries) of the four built-in phases, by id.
    pub phases: [(u64, u32); 4],
}

/// One traced operation: the clock starts at [`Tracer::new`].
pub struct Tracer {
    raw: NonNull<ffi::bt_tracer>,
    finished: bool,
}

// bt.h: a tracer belongs to one thread at a time but may move between
// threads. Not Sync: two threads must not call it at once.
unsafe impl Send for Tracer {}

impl Tracer {
    /// Starts tracing one operation of `op`.
    pub fn new(op: Op) -> Result<Tracer> {
        let mut out = ptr::null_mut();
        check(
            unsafe { ffi::bt_tracer_new_op(&mut out, op.0.as_ptr()) },
            "bt_tracer_new_op",
        )?;
        let raw = NonNull::new(out).ok_or(Error {
            call: "bt_tracer_new_op",
            status: ffi::BT_E_INTERNAL,
        })?;
        Ok(Tracer {
            raw,
            finished: false,
        })
    }

    fn ptr(&self) -> *mut ffi::bt_tracer {
        self.raw.as_ptr()
    }

    /// Enters `phase` until the guard drops. One phase is open at a time:
    /// a second guard while one is alive gets BT_E_PHASE_OPEN.
    pub fn phase(&self, phase: Phase) -> Result<PhaseGuard<'_>> {
        check(
            unsafe { ffi::bt_phase_begin(self.ptr(), phase.0) },
            "bt_phase_begin",
        )?;
        Ok(PhaseGuard {
            tracer: self,
            phase,
        })
    }

    pub fn add_items(&self, n: u64) -> Result<()> {
        check(
            unsafe { ffi::bt_tracer_add_items(self.ptr(), n) },
            "bt_tracer_add_items",
        )
    }

    pub fn set_workers(&self, workers: u32) -> Result<()> {
        check(
            unsafe { ffi::bt_tracer_set_workers(self.ptr(), workers) },
            "bt_tracer_set_workers",
        )
    }

    pub fn set_error(&self) -> Result<()> {
        check(
            unsafe { ffi::bt_tracer_set_error(self.ptr()) },
            "bt_tracer_set_error",
        )
    }

    /// Runs `f` with the GIL released (`py.allow_threads`), counting one GIL
    /// release on this tracer and adding the time it took to get the GIL back
    /// to its GIL wait. `f` gets the tracer, to open the released phases:
    ///
    /// ```ignore
    /// let sent = tracer.allow_threads(py, |t| {
    ///     let bytes = { let _p = t.phase(bt::CONVERT)?; encode(&docs) };
    ///     let _p = t.phase(bt::NETWORK)?;
    ///     send(&bytes)
    /// })?;
    /// ```
    ///
    /// Takes `&mut self`, so no [`PhaseGuard`] can be alive across the release
    /// (the phase would straddle the GIL's state). Recording is best effort:
    /// a finished tracer still runs `f`.
    pub fn allow_threads<T, F>(&mut self, py: Python<'_>, f: F) -> T
    where
        F: Send + FnOnce(&mut Tracer) -> T,
        T: Send,
    {
        let _ = unsafe { ffi::bt_tracer_add_gil_release(self.ptr()) };
        let tracer: &mut Tracer = self; // &mut Tracer is Send: Tracer is Send
        let (out, released_until) = py.allow_threads(move || {
            let out = f(tracer);
            (out, now_ns())
        });
        let waited = now_ns().saturating_sub(released_until);
        let _ = unsafe { ffi::bt_tracer_add_gil_wait(self.ptr(), waited) };
        out
    }

    /// Stops the clock, records the operation, and returns its timing.
    pub fn finish(mut self) -> Result<Timing> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<Timing> {
        // bt_timing is plain data: all zeroes is a valid value (NULL op_name).
        let mut tm: ffi::bt_timing = unsafe { std::mem::zeroed() };
        tm.struct_size = std::mem::size_of::<ffi::bt_timing>();
        let status = unsafe { ffi::bt_tracer_finish_timing(&mut tm, self.ptr()) };
        self.finished = status == 0 || status == ffi::BT_E_FINISHED;
        check(status, "bt_tracer_finish_timing")?;
        let phase = |i: usize| (tm.phase_ns[i], tm.phase_entries[i]);
        Ok(Timing {
            op_name: unsafe { static_str(tm.op_name) }, // interned: process lifetime
            total_ns: tm.total_ns,
            gil_held_ns: tm.gil_held_ns,
            gil_released_ns: tm.gil_released_ns,
            gil_wait_ns: tm.gil_wait_ns,
            unattributed_ns: tm.unattributed_ns,
            items: tm.items,
            gil_releases: tm.gil_releases,
            workers: tm.workers,
            error: tm.flags & 1 != 0,
            phases: [phase(0), phase(1), phase(2), phase(3)],
        })
    }
}

impl Drop for Tracer {
    /// Not finished (an early return or a panic): the operation failed; mark
    /// it, record it, then free the tracer.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.set_error();
            // Recorded without a timing: nobody reads it.
            let _ = unsafe { ffi::bt_tracer_finish(self.ptr()) };
        }
        unsafe { ffi::bt_tracer_free(self.ptr()) };
    }
}

/// An open phase of a tracer; ends it when dropped.
pub struct PhaseGuard<'a> {
    tracer: &'a Tracer,
    phase: Phase,
}

impl Drop for PhaseGuard<'_> {
    fn drop(&mut self) {
        let _ = unsafe { ffi::bt_phase_end(self.tracer.ptr(), self.phase.0) };
    }
}
