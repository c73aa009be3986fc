//! [`Metrics`] (the sinks), [`OwnedMetrics`] and bound operations ([`Op`]).
use std::marker::{PhantomData, PhantomPinned};
use std::ops::Deref;
use std::path::Path;
use std::ptr::{self, NonNull};

use boundarytrace_sys as sys;

use crate::error::{c_path, c_string, check, static_str, Error, Result};
use crate::snapshot::Snapshot;
use crate::tracer::Tracer;
use crate::Phase;

/// A sink that aggregates finished operations (`bt_metrics`): the
/// process-wide one, [`Metrics::global`], or a private one owned by an
/// [`OwnedMetrics`] (which derefs to `Metrics`). Only ever used by
/// reference: `&Metrics` is the C handle.
///
/// Thread-safety (bt.h): a sink is safe from any number of threads at once,
/// so `Metrics` is `Send + Sync`. Tracers and bound operations borrow it, so
/// an owned sink outlives them, as bt.h requires.
///
/// ```
/// use boundarytrace::{Metrics, Phase};
/// let metrics = Metrics::new()?; // private: starts empty
/// let t = metrics.tracer("doc_metrics")?;
/// t.phase(Phase::EXTRACT)?.end()?;
/// t.finish()?;
/// let snap = metrics.snapshot()?;
/// assert_eq!(snap.find("doc_metrics")?.stats()?.count, 1);
/// # Ok::<(), boundarytrace::Error>(())
/// ```
#[repr(C)]
pub struct Metrics {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

// SAFETY: bt.h: bt_metrics is safe from any number of threads at once.
unsafe impl Send for Metrics {}
unsafe impl Sync for Metrics {}

impl Metrics {
    /// The process-wide sink (`bt_metrics_global`): never freed, shared with
    /// every other user of the library in the process (the `boundarytrace`
    /// Python package, other extensions).
    pub fn global() -> &'static Metrics {
        // SAFETY: never NULL, never freed (bt.h).
        unsafe { Metrics::from_ptr(sys::bt_metrics_global()) }
    }

    /// A new private sink (`bt_metrics_new`), freed when dropped.
    /// Error: `NoMem`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Result<OwnedMetrics> {
        let mut out = ptr::null_mut();
        // SAFETY: valid out-pointer.
        check(unsafe { sys::bt_metrics_new(&mut out) })?;
        OwnedMetrics::from_raw(out)
    }

    /// A sink whose figures live in the directory `dir`, shared by every
    /// process that opens it (`bt_metrics_open_shared`; see bt.h for the
    /// directory's rules). Errors: `Io` (with the errno: why), `NoMem`,
    /// `Invalid` (a path with a NUL byte).
    pub fn open_shared<P: AsRef<Path>>(dir: P) -> Result<OwnedMetrics> {
        let dir = c_path(dir.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: valid out-pointer and path.
        check(unsafe { sys::bt_metrics_open_shared(&mut out, dir.as_ptr()) })?;
        OwnedMetrics::from_raw(out)
    }

    /// The sink behind a C handle.
    ///
    /// # Safety
    /// `raw` is a live `bt_metrics*` that outlives `'a`.
    pub unsafe fn from_ptr<'a>(raw: *mut sys::bt_metrics) -> &'a Metrics {
        &*(raw as *const Metrics)
    }

    /// The C handle, for calls of boundarytrace-sys.
    pub fn as_ptr(&self) -> *mut sys::bt_metrics {
        self as *const Metrics as *mut sys::bt_metrics
    }

    /// Looks an operation name up once (`bt_op_lookup`), for tracers on the
    /// hot path. Errors: `Name`, `Full` (`BT_MAX_OPS` names), `NoMem`.
    pub fn op(&self, name: &str) -> Result<Op<'_>> {
        let name = c_string(name)?;
        let mut out = ptr::null_mut();
        // SAFETY: live handle, valid out-pointer and name.
        check(unsafe { sys::bt_op_lookup(&mut out, self.as_ptr(), name.as_ptr()) })?;
        NonNull::new(out).map(|raw| Op { raw, _metrics: PhantomData }).ok_or(Error::Internal)
    }

    /// Starts tracing one operation called `name` (`bt_tracer_new`).
    /// Errors: `Name`, `Full`, `NoMem`.
    pub fn tracer(&self, name: &str) -> Result<Tracer<'_>> {
        Tracer::new(self, name)
    }

    /// Records a timing measured elsewhere (`bt_metrics_record`). Errors:
    /// `Name`, `UnknownPhase`, `Invalid` (phases longer than the total),
    /// `Full`, `NoMem`; nothing is recorded on error.
    pub fn record(&self, record: &Record<'_>) -> Result<()> {
        let name = c_string(record.op_name)?;
        let mut t = sys::bt_timing::new();
        t.op_name = name.as_ptr();
        t.total_ns = record.total_ns;
        t.items = record.items;
        t.gil_wait_ns = record.gil_wait_ns;
        t.gil_releases = record.gil_releases;
        t.workers = record.workers;
        t.flags = if record.error { sys::BT_TIMING_ERROR } else { 0 };
        for &(phase, ns, entries) in record.phases {
            let i = usize::try_from(phase.id()).map_err(|_| Error::UnknownPhase)?;
            if i >= sys::BT_MAX_PHASES {
                return Err(Error::UnknownPhase);
            }
            t.phase_ns[i] = ns;
            t.phase_entries[i] = entries;
        }
        // SAFETY: live handle; `t` and the name outlive the call.
        check(unsafe { sys::bt_metrics_record(self.as_ptr(), &t) })
    }

    /// An immutable copy of the cumulative aggregates (`bt_metrics_snapshot`).
    /// Error: `NoMem`.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let mut out = ptr::null_mut();
        // SAFETY: live handle, valid out-pointer.
        check(unsafe { sys::bt_metrics_snapshot(&mut out, self.as_ptr()) })?;
        Snapshot::from_raw(out)
    }

    /// Interval reporting (`bt_metrics_take`): what was recorded since the
    /// previous take, and the cumulative view at the same instant.
    /// Errors: `NoMem`; `Invalid` on a shared sink.
    pub fn take(&self) -> Result<(Snapshot, Snapshot)> {
        let (mut interval, mut cumulative) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: live handle, valid out-pointers.
        check(unsafe { sys::bt_metrics_take(&mut interval, &mut cumulative, self.as_ptr()) })?;
        Ok((Snapshot::from_raw(interval)?, Snapshot::from_raw(cumulative)?))
    }

    /// Zeroes every aggregate (`bt_metrics_reset`); bound operations stay
    /// valid. Error: `Invalid` on a shared sink.
    pub fn reset(&self) -> Result<()> {
        // SAFETY: live handle.
        check(unsafe { sys::bt_metrics_reset(self.as_ptr()) })
    }
}

/// A private sink (`bt_metrics_new`, `bt_metrics_open_shared`), freed
/// (`bt_metrics_free`) when dropped; derefs to [`Metrics`]. The borrow
/// checker keeps it alive while tracers and bound operations of it exist.
pub struct OwnedMetrics(NonNull<sys::bt_metrics>);

// SAFETY: as Metrics; freeing from another thread is allowed.
unsafe impl Send for OwnedMetrics {}
unsafe impl Sync for OwnedMetrics {}

impl OwnedMetrics {
    fn from_raw(raw: *mut sys::bt_metrics) -> Result<OwnedMetrics> {
        NonNull::new(raw).map(OwnedMetrics).ok_or(Error::Internal)
    }
}

impl Deref for OwnedMetrics {
    type Target = Metrics;
    fn deref(&self) -> &Metrics {
        // SAFETY: owned and live until drop.
        unsafe { Metrics::from_ptr(self.0.as_ptr()) }
    }
}

impl Drop for OwnedMetrics {
    fn drop(&mut self) {
        // SAFETY: owned; no tracer or Op borrows it any more.
        unsafe { sys::bt_metrics_free(self.0.as_ptr()) }
    }
}

/// A bound operation (`bt_op`): a name looked up once in one sink
/// ([`Metrics::op`]). Tracers of it neither hash nor copy the name. Cheap to
/// copy; valid while its sink lives (for the global sink: always).
/// `Send + Sync` (bt.h: bound operations are thread-safe).
///
/// ```
/// let op = boundarytrace::Metrics::global().op("doc_op")?;
/// assert_eq!(op.name(), "doc_op");
/// op.tracer()?.finish()?;
/// # Ok::<(), boundarytrace::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Op<'m> {
    raw: NonNull<sys::bt_op>,
    _metrics: PhantomData<&'m Metrics>,
}

// SAFETY: bt.h: bt_op is safe from any number of threads at once.
unsafe impl Send for Op<'_> {}
unsafe impl Sync for Op<'_> {}

impl<'m> Op<'m> {
    /// The interned operation name.
    pub fn name(&self) -> &'static str {
        // SAFETY: live handle; interned name of process lifetime.
        unsafe { static_str(sys::bt_op_name(self.raw.as_ptr())) }
    }

    /// Starts tracing one operation (`bt_tracer_new_op`). Error: `NoMem`.
    pub fn tracer(self) -> Result<Tracer<'m>> {
        Tracer::from_op(self)
    }

    /// Prepares the calling thread to trace this operation from a signal
    /// handler without allocating (`bt_op_reserve`). Error: `NoMem`.
    pub fn reserve(&self) -> Result<()> {
        // SAFETY: live handle.
        check(unsafe { sys::bt_op_reserve(self.raw.as_ptr()) })
    }

    /// The C handle.
    pub fn as_ptr(&self) -> *mut sys::bt_op {
        self.raw.as_ptr()
    }
}

/// A timing measured elsewhere, for [`Metrics::record`]. The library derives
/// the GIL-held, GIL-released and unattributed times from the phases.
#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    /// Operation name.
    pub op_name: &'a str,
    /// Whole operation, nanoseconds; at least the sum of the phases.
    pub total_ns: u64,
    /// (phase, nanoseconds, entries) per phase entered.
    pub phases: &'a [(Phase, u64, u32)],
    /// Items (documents) handled.
    pub items: u64,
    /// Time spent waiting to reacquire the GIL.
    pub gil_wait_ns: u64,
    /// Times the GIL was released.
    pub gil_releases: u32,
    /// Parallel workers (0 = not reported).
    pub workers: u32,
    /// The operation failed.
    pub error: bool,
}
