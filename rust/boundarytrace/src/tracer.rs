//! [`Tracer`] (one operation in flight), [`PhaseGuard`] and [`Timing`].
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use boundarytrace_sys as sys;

use crate::error::{c_string, check, static_str, Error, Result};
use crate::metrics::{Metrics, Op};
use crate::text::read_text;
use crate::Phase;

/// One traced operation (`bt_tracer`): the clock starts when it is created.
///
/// Ownership: [`Tracer::finish`] records the operation into its sink and
/// returns its [`Timing`]. A tracer dropped unfinished (an early return
/// through `?`, a panic) is marked as failed and recorded, then freed — as
/// Python's `with boundarytrace.trace(...)` does on an exception;
/// [`Tracer::discard`] frees it without recording (bt.h's
/// `bt_tracer_free` before `bt_tracer_finish`). It borrows its sink.
///
/// Thread-safety (bt.h): a tracer belongs to one thread at a time and may
/// move between threads, so `Tracer` is `Send` but not `Sync`.
///
/// ```
/// use boundarytrace::{Metrics, Phase};
/// let t = Metrics::global().tracer("doc_tracer")?;
/// {
///     let _p = t.phase(Phase::EXTRACT)?; // ends when dropped
/// }
/// t.add_items(3)?;
/// let timing = t.finish()?;
/// assert_eq!(timing.items(), 3);
/// assert_eq!(timing.phase(Phase::EXTRACT).1, 1); // entered once
/// # Ok::<(), boundarytrace::Error>(())
/// ```
pub struct Tracer<'m> {
    raw: NonNull<sys::bt_tracer>,
    finished: bool,
    _metrics: PhantomData<&'m Metrics>,
}

// SAFETY: bt.h: a tracer may move between threads (one at a time). Not Sync:
// NonNull keeps it !Sync, so two threads never call it at once.
unsafe impl Send for Tracer<'_> {}

impl<'m> Tracer<'m> {
    /// Starts tracing one operation called `name` in `metrics`
    /// (`bt_tracer_new`). Errors: `Name`, `Full`, `NoMem`.
    pub fn new(metrics: &'m Metrics, name: &str) -> Result<Tracer<'m>> {
        let name = c_string(name)?;
        let mut out = ptr::null_mut();
        // SAFETY: live sink, valid out-pointer and name.
        check(unsafe { sys::bt_tracer_new(&mut out, metrics.as_ptr(), name.as_ptr()) })?;
        Tracer::from_raw(out)
    }

    /// Starts tracing one operation of a bound operation
    /// (`bt_tracer_new_op`). Error: `NoMem`.
    pub fn from_op(op: Op<'m>) -> Result<Tracer<'m>> {
        let mut out = ptr::null_mut();
        // SAFETY: live bound operation, valid out-pointer.
        check(unsafe { sys::bt_tracer_new_op(&mut out, op.as_ptr()) })?;
        Tracer::from_raw(out)
    }

    fn from_raw(raw: *mut sys::bt_tracer) -> Result<Tracer<'m>> {
        let raw = NonNull::new(raw).ok_or(Error::Internal)?;
        Ok(Tracer { raw, finished: false, _metrics: PhantomData })
    }

    /// The C handle (still owned by this tracer).
    pub fn as_ptr(&self) -> *mut sys::bt_tracer {
        self.raw.as_ptr()
    }

    /// Enters `phase` until the returned guard drops (or [`PhaseGuard::end`]).
    /// One phase is open at a time. Errors: `UnknownPhase`, `PhaseOpen`
    /// (nothing changes), `Finished`.
    pub fn phase(&self, phase: Phase) -> Result<PhaseGuard<'_, 'm>> {
        self.begin(phase)?;
        Ok(PhaseGuard { tracer: self, phase, ended: false })
    }

    /// Enters `phase` without a guard (`bt_phase_begin`); pair with
    /// [`Tracer::end`]. Errors as [`Tracer::phase`].
    pub fn begin(&self, phase: Phase) -> Result<()> {
        // SAFETY: live tracer, used by this thread only (not Sync).
        check(unsafe { sys::bt_phase_begin(self.as_ptr(), phase.id()) })
    }

    /// Leaves the open phase, which must be `phase` (`bt_phase_end`).
    /// Errors: `UnknownPhase`, `PhaseNotOpen` (nothing changes), `Finished`.
    pub fn end(&self, phase: Phase) -> Result<()> {
        // SAFETY: as in begin().
        check(unsafe { sys::bt_phase_end(self.as_ptr(), phase.id()) })
    }

    /// Adds `n` items (documents) handled. Error: `Finished`.
    pub fn add_items(&self, n: u64) -> Result<()> {
        // SAFETY: as in begin().
        check(unsafe { sys::bt_tracer_add_items(self.as_ptr(), n) })
    }

    /// Counts one release of the GIL. Error: `Finished`.
    pub fn add_gil_release(&self) -> Result<()> {
        // SAFETY: as in begin().
        check(unsafe { sys::bt_tracer_add_gil_release(self.as_ptr()) })
    }

    /// Adds `ns` nanoseconds spent waiting to reacquire the GIL. Error: `Finished`.
    pub fn add_gil_wait(&self, ns: u64) -> Result<()> {
        // SAFETY: as in begin().
        check(unsafe { sys::bt_tracer_add_gil_wait(self.as_ptr(), ns) })
    }

    /// Reports the parallel workers used (the largest value wins). Error: `Finished`.
    pub fn set_workers(&self, workers: u32) -> Result<()> {
        // SAFETY: as in begin().
        check(unsafe { sys::bt_tracer_set_workers(self.as_ptr(), workers) })
    }

    /// Marks the operation as failed. Error: `Finished`.
    pub fn set_error(&self) -> Result<()> {
        // SAFETY: as in begin().
        check(unsafe { sys::bt_tracer_set_error(self.as_ptr()) })
    }

    /// Stops the clock, closes a phase left open, records the operation and
    /// returns its timing (`bt_tracer_finish_timing`), then frees the tracer.
    /// Errors: `NoMem` (the record was dropped). While recording is
    /// disabled the timing is all zeroes.
    pub fn finish(mut self) -> Result<Timing> {
        let mut t = sys::bt_timing::new();
        // SAFETY: live tracer, valid out struct with struct_size set.
        let status = unsafe { sys::bt_tracer_finish_timing(&mut t, self.as_ptr()) };
        // Finished unless the struct was refused (never: we pass our size).
        self.finished = status != sys::BT_E_STRUCT_SIZE;
        check(status)?;
        Ok(Timing(t))
    }

    /// Frees the tracer without recording anything (its operation name
    /// stays listed in snapshots).
    pub fn discard(mut self) {
        self.finished = true;
    }
}

impl Drop for Tracer<'_> {
    /// Unfinished: mark the operation failed and record it. Then free.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.set_error();
            // SAFETY: live tracer.
            let _ = unsafe { sys::bt_tracer_finish(self.as_ptr()) };
        }
        // SAFETY: owned; not used after this.
        unsafe { sys::bt_tracer_free(self.as_ptr()) }
    }
}

/// An open phase of a [`Tracer`] ([`Tracer::phase`]); ends it when dropped
/// (errors then are ignored: a finished tracer has no open phase). Borrows
/// the tracer, so the tracer cannot finish while a guard lives.
#[must_use = "the phase ends when the guard is dropped"]
pub struct PhaseGuard<'t, 'm> {
    tracer: &'t Tracer<'m>,
    phase: Phase,
    ended: bool,
}

impl PhaseGuard<'_, '_> {
    /// The phase this guard holds open.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Ends the phase now and reports the status (`PhaseNotOpen` if it was
    /// ended through [`Tracer::end`] meanwhile).
    pub fn end(mut self) -> Result<()> {
        self.ended = true;
        self.tracer.end(self.phase)
    }
}

impl Drop for PhaseGuard<'_, '_> {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.tracer.end(self.phase);
        }
    }
}

/// The timing of one finished operation (a copy of `bt_timing`). Nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct Timing(sys::bt_timing);

impl Timing {
    /// Interned operation name ("" while recording was disabled).
    pub fn op_name(&self) -> &'static str {
        // SAFETY: NULL or an interned name of process lifetime.
        unsafe { static_str(self.0.op_name) }
    }
    /// Creation to finish.
    pub fn total_ns(&self) -> u64 {
        self.0.total_ns
    }
    /// Total minus the time inside phases (boundary overhead, GIL waits).
    pub fn unattributed_ns(&self) -> u64 {
        self.0.unattributed_ns
    }
    /// Time in phases whose GIL state is held.
    pub fn gil_held_ns(&self) -> u64 {
        self.0.gil_held_ns
    }
    /// Time in phases whose GIL state is released.
    pub fn gil_released_ns(&self) -> u64 {
        self.0.gil_released_ns
    }
    /// Time spent waiting to reacquire the GIL.
    pub fn gil_wait_ns(&self) -> u64 {
        self.0.gil_wait_ns
    }
    /// Items (documents) handled.
    pub fn items(&self) -> u64 {
        self.0.items
    }
    /// Times the GIL was released.
    pub fn gil_releases(&self) -> u32 {
        self.0.gil_releases
    }
    /// Parallel workers (0 = not reported).
    pub fn workers(&self) -> u32 {
        self.0.workers
    }
    /// The operation was marked as failed.
    pub fn is_error(&self) -> bool {
        self.0.flags & sys::BT_TIMING_ERROR != 0
    }
    /// Finish closed a phase that was still open.
    pub fn phase_left_open(&self) -> bool {
        self.0.flags & sys::BT_TIMING_PHASE_LEFT_OPEN != 0
    }
    /// (time, entries) of one phase; (0, 0) for a phase not entered or unknown.
    pub fn phase(&self, phase: Phase) -> (u64, u32) {
        match usize::try_from(phase.id()) {
            Ok(i) if i < self.0.phase_count as usize && i < sys::BT_MAX_PHASES => {
                (self.0.phase_ns[i], self.0.phase_entries[i])
            }
            _ => (0, 0),
        }
    }
    /// (phase, time, entries) of every phase entered at least once.
    pub fn phases(&self) -> impl Iterator<Item = (Phase, u64, u32)> + '_ {
        let n = (self.0.phase_count as usize).min(sys::BT_MAX_PHASES);
        (0..n)
            .filter(move |&i| self.0.phase_entries[i] > 0)
            .map(move |i| (Phase::from_id(i as i32), self.0.phase_ns[i], self.0.phase_entries[i]))
    }
    /// The human report of the operation (`bt_timing_format`).
    pub fn to_text(&self) -> Result<String> {
        // SAFETY: the callee writes at most cap bytes into buf.
        let bytes = read_text(|buf, cap, needed| unsafe { sys::bt_timing_format(buf, cap, needed, &self.0) })?;
        String::from_utf8(bytes).map_err(|_| Error::Internal)
    }
    /// The C struct.
    pub fn as_raw(&self) -> &sys::bt_timing {
        &self.0
    }
}

// SAFETY: plain data; op_name points to an immutable interned name of
// process lifetime.
unsafe impl Send for Timing {}
unsafe impl Sync for Timing {}
