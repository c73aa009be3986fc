//! [`Snapshot`]: an immutable copy of a sink's aggregates, its operations
//! ([`OpEntry`]), their statistics, quantiles and histogram buckets, and
//! its exports.
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use boundarytrace_sys as sys;

use crate::error::{c_path, c_string, check, static_str, Error, Result};
use crate::text::read_text;
use crate::{Format, Phase};

/// An immutable copy of a sink's aggregates (`bt_snapshot`), operations
/// sorted by name; freed when dropped. From [`Metrics::snapshot`](crate::Metrics::snapshot),
/// [`Metrics::take`](crate::Metrics::take) or [`Snapshot::read_shared`].
/// `Send + Sync` (bt.h: snapshots are safe from any number of threads).
///
/// ```
/// use boundarytrace::{Format, Metrics, Phase};
/// let metrics = Metrics::new()?;
/// let t = metrics.tracer("doc_snapshot")?;
/// t.phase(Phase::NETWORK)?.end()?;
/// t.finish()?;
/// let snap = metrics.snapshot()?;
/// for op in snap.ops() {
///     let stats = op.stats()?;
///     let network = op.phase(Phase::NETWORK)?;
///     assert_eq!((stats.name, stats.count, network.count), ("doc_snapshot", 1, 1));
///     assert_eq!(op.buckets(Phase::TOTAL)?.iter().map(|b| b.count).sum::<u64>(), 1);
///     assert!(op.quantile(Phase::TOTAL, 0.5)? <= op.total()?.max_ns);
/// }
/// let json = snap.export_string(Format::Json)?;
/// assert!(json.contains("doc_snapshot"));
/// assert!(snap.to_text()?.contains("doc_snapshot"));
/// # Ok::<(), boundarytrace::Error>(())
/// ```
pub struct Snapshot(NonNull<sys::bt_snapshot>);

// SAFETY: bt.h: snapshots are immutable and thread-safe.
unsafe impl Send for Snapshot {}
unsafe impl Sync for Snapshot {}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: owned.
        unsafe { sys::bt_snapshot_free(self.0.as_ptr()) }
    }
}

/// Facts about a snapshot as a whole (`bt_snapshot_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Operations in the snapshot.
    pub op_count: usize,
    /// `bt_clock_now_ns()` when its interval began.
    pub start_ns: u64,
    /// `bt_clock_now_ns()` when it was taken.
    pub end_ns: u64,
    /// Phases registered when it was taken.
    pub phase_count: u32,
    /// Shared directory: records the processes could not keep.
    pub dropped: u64,
    /// Shared directory: process slots merged.
    pub processes: u32,
    /// Shared directory: files left out ([`Snapshot::skipped`]).
    pub skipped: u32,
}

/// Aggregates of one operation name (`bt_op_stats`). Times in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpStats {
    /// Operation name (interned).
    pub name: &'static str,
    /// Operations recorded.
    pub count: u64,
    /// Of which marked as errors.
    pub errors: u64,
    /// Of which finished with a phase still open.
    pub left_open: u64,
    /// Items over all operations.
    pub items: u64,
    /// Sum of operation times.
    pub total_ns: u64,
    /// Sum of time in GIL-held phases.
    pub gil_held_ns: u64,
    /// Sum of time in GIL-released phases.
    pub gil_released_ns: u64,
    /// Sum of measured GIL waits.
    pub gil_wait_ns: u64,
    /// Sum of time outside any phase and the GIL wait.
    pub unattributed_ns: u64,
    /// GIL releases over all operations.
    pub gil_releases: u64,
    /// Operations that reported more than one worker.
    pub parallel_ops: u64,
    /// Most workers any operation reported.
    pub workers_max: u32,
    /// A sum stopped at 2^64-1: the sums are lower bounds.
    pub saturated: bool,
}

/// Distribution of one phase (or [`Phase::TOTAL`], [`Phase::GIL_WAIT`]) of one operation
/// (`bt_phase_stats`). Per-operation times in nanoseconds; percentiles
/// within 1/32 (base-2 exponential histogram, scale 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhaseStats {
    /// Phase name, "total" or "GIL wait".
    pub name: &'static str,
    /// The phase asked for.
    pub phase: Phase,
    /// Some(held) for a phase, None for the total.
    pub gil_held: Option<bool>,
    /// Operations that entered the phase (samples).
    pub count: u64,
    /// Times the phase was entered, summed.
    pub entries: u64,
    /// Time in the phase, summed.
    pub sum_ns: u64,
    /// Smallest per-operation time (0 if count is 0).
    pub min_ns: u64,
    /// Largest per-operation time.
    pub max_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
}

/// One non-empty histogram bucket: `count` samples in [`lower_ns`, `upper_ns`)
/// (the last bucket's upper_ns is u64::MAX and includes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Smallest value in the bucket.
    pub lower_ns: u64,
    /// End of the bucket.
    pub upper_ns: u64,
    /// Samples in it.
    pub count: u64,
}

impl Snapshot {
    pub(crate) fn from_raw(raw: *mut sys::bt_snapshot) -> Result<Snapshot> {
        NonNull::new(raw).map(Snapshot).ok_or(Error::Internal)
    }

    /// The C handle (still owned by this snapshot).
    pub fn as_ptr(&self) -> *const sys::bt_snapshot {
        self.0.as_ptr()
    }

    /// Merges every slot of the shared directory `dir`
    /// (`bt_snapshot_read_shared`). Errors: `Io`, `NoMem`, `Invalid` (NUL in path).
    pub fn read_shared<P: AsRef<Path>>(dir: P) -> Result<Snapshot> {
        let dir = c_path(dir.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: valid out-pointer and path.
        check(unsafe { sys::bt_snapshot_read_shared(&mut out, dir.as_ptr()) })?;
        Snapshot::from_raw(out)
    }

    /// Facts about the snapshot.
    pub fn info(&self) -> Result<SnapshotInfo> {
        let mut i = sys::bt_snapshot_info::new();
        // SAFETY: live snapshot, out struct with struct_size set.
        check(unsafe { sys::bt_snapshot_get_info(&mut i, self.as_ptr()) })?;
        Ok(SnapshotInfo {
            op_count: i.op_count,
            start_ns: i.start_ns,
            end_ns: i.end_ns,
            phase_count: i.phase_count,
            dropped: i.dropped,
            processes: i.processes,
            skipped: i.skipped,
        })
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        let mut n = 0;
        // SAFETY: live snapshot; cannot fail with valid arguments.
        let _ = unsafe { sys::bt_snapshot_op_count(&mut n, self.as_ptr()) };
        n
    }

    /// No operations.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The operation at `index` (0 .. len-1). Error: `NotFound`.
    pub fn get(&self, index: usize) -> Result<OpEntry<'_>> {
        if index < self.len() {
            Ok(OpEntry { snapshot: self, index })
        } else {
            Err(Error::NotFound)
        }
    }

    /// The operation called `name`. Errors: `Name`, `NotFound`.
    pub fn find(&self, name: &str) -> Result<OpEntry<'_>> {
        let name = c_string(name)?;
        let mut index = 0;
        // SAFETY: live snapshot, valid out-pointer and name.
        check(unsafe { sys::bt_snapshot_find(&mut index, self.as_ptr(), name.as_ptr()) })?;
        Ok(OpEntry { snapshot: self, index })
    }

    /// Every operation, sorted by name.
    pub fn ops(&self) -> impl ExactSizeIterator<Item = OpEntry<'_>> + '_ {
        (0..self.len()).map(move |index| OpEntry { snapshot: self, index })
    }

    /// (path, reason) of each file a shared-directory merge left out.
    pub fn skipped(&self) -> Result<Vec<(String, String)>> {
        let n = self.info()?.skipped as usize;
        let mut out = Vec::with_capacity(n);
        for index in 0..n {
            let (mut path, mut reason): (*const c_char, *const c_char) = (ptr::null(), ptr::null());
            // SAFETY: valid out-pointers; the strings belong to the snapshot,
            // copied before it can be freed.
            check(unsafe { sys::bt_snapshot_get_skipped(&mut path, &mut reason, self.as_ptr(), index) })?;
            out.push(unsafe { (static_str(path).to_string(), static_str(reason).to_string()) });
        }
        Ok(out)
    }

    /// The human report (`bt_snapshot_format`).
    pub fn to_text(&self) -> Result<String> {
        // SAFETY: the callee writes at most cap bytes into buf.
        let bytes = read_text(|buf, cap, needed| unsafe { sys::bt_snapshot_format(buf, cap, needed, self.as_ptr()) })?;
        String::from_utf8(bytes).map_err(|_| Error::Internal)
    }

    /// The snapshot in `format` (`bt_snapshot_export`): text, or bytes for
    /// the protobuf formats. Error: `NoMem`.
    pub fn export(&self, format: Format) -> Result<Vec<u8>> {
        // SAFETY: the callee writes at most cap bytes into buf.
        read_text(|buf, cap, needed| unsafe { sys::bt_snapshot_export(buf, cap, needed, self.as_ptr(), format.raw()) })
    }

    /// [`Snapshot::export`] of a text format as a `String`; `Invalid` for
    /// the binary (protobuf) formats.
    pub fn export_string(&self, format: Format) -> Result<String> {
        if format.is_binary() {
            return Err(Error::Invalid);
        }
        String::from_utf8(self.export(format)?).map_err(|_| Error::Internal)
    }

    /// Writes the snapshot in `format` to `path` atomically
    /// (`bt_snapshot_write`). Errors: `Invalid` (empty path), `Io`, `NoMem`.
    pub fn write<P: AsRef<Path>>(&self, format: Format, path: P) -> Result<()> {
        let path = c_path(path.as_ref())?;
        // SAFETY: live snapshot and path.
        check(unsafe { sys::bt_snapshot_write(self.as_ptr(), format.raw(), path.as_ptr()) })
    }
}

/// One operation of a [`Snapshot`]: its index, borrowed from the snapshot.
#[derive(Clone, Copy)]
pub struct OpEntry<'s> {
    snapshot: &'s Snapshot,
    index: usize,
}

impl<'s> OpEntry<'s> {
    /// Its index in the snapshot.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Aggregates of the operation (`bt_snapshot_op_stats`).
    pub fn stats(&self) -> Result<OpStats> {
        let mut s = sys::bt_op_stats::new();
        // SAFETY: live snapshot, out struct with struct_size set.
        check(unsafe { sys::bt_snapshot_op_stats(&mut s, self.snapshot.as_ptr(), self.index) })?;
        Ok(OpStats {
            // SAFETY: interned name.
            name: unsafe { static_str(s.name) },
            count: s.count,
            errors: s.errors,
            left_open: s.left_open,
            items: s.items,
            total_ns: s.total_ns,
            gil_held_ns: s.gil_held_ns,
            gil_released_ns: s.gil_released_ns,
            gil_wait_ns: s.gil_wait_ns,
            unattributed_ns: s.unattributed_ns,
            gil_releases: s.gil_releases,
            parallel_ops: s.parallel_ops,
            workers_max: s.workers_max,
            saturated: s.flags & sys::BT_STATS_SATURATED != 0,
        })
    }

    /// The operation's name.
    pub fn name(&self) -> Result<&'static str> {
        Ok(self.stats()?.name)
    }

    /// Distribution of `phase` (`bt_snapshot_phase_stats`); a registered
    /// phase never entered gives count 0. Error: `UnknownPhase`.
    pub fn phase(&self, phase: Phase) -> Result<PhaseStats> {
        let mut s = sys::bt_phase_stats::new();
        // SAFETY: as in stats().
        check(unsafe { sys::bt_snapshot_phase_stats(&mut s, self.snapshot.as_ptr(), self.index, phase.id()) })?;
        Ok(PhaseStats {
            // SAFETY: interned name.
            name: unsafe { static_str(s.name) },
            phase: Phase::from_id(s.phase),
            gil_held: if s.gil_held < 0 { None } else { Some(s.gil_held != 0) },
            count: s.count,
            entries: s.entries,
            sum_ns: s.sum_ns,
            min_ns: s.min_ns,
            max_ns: s.max_ns,
            p50_ns: s.p50_ns,
            p90_ns: s.p90_ns,
            p99_ns: s.p99_ns,
            p999_ns: s.p999_ns,
        })
    }

    /// Distribution of the whole operation ([`Phase::TOTAL`]).
    pub fn total(&self) -> Result<PhaseStats> {
        self.phase(Phase::TOTAL)
    }

    /// Distribution of the wait to get the GIL back ([`Phase::GIL_WAIT`]):
    /// one sample per operation that released the GIL; count 0 when none did.
    pub fn gil_wait(&self) -> Result<PhaseStats> {
        self.phase(Phase::GIL_WAIT)
    }

    /// The phases this operation entered (count > 0), in id order, among
    /// those registered when the snapshot was taken.
    pub fn phases(&self) -> Result<Vec<PhaseStats>> {
        let n = self.snapshot.info()?.phase_count as i32;
        let mut out = Vec::new();
        for id in 0..n {
            let s = self.phase(Phase::from_id(id))?;
            if s.count > 0 {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Quantile `q` in [0, 1] of `phase` (`bt_snapshot_quantile`): 0 the
    /// minimum, 1 the maximum. Errors: `Invalid` (q outside [0, 1], NaN),
    /// `UnknownPhase`.
    pub fn quantile(&self, phase: Phase, q: f64) -> Result<u64> {
        let mut ns = 0;
        // SAFETY: valid out-pointer, live snapshot.
        check(unsafe { sys::bt_snapshot_quantile(&mut ns, self.snapshot.as_ptr(), self.index, phase.id(), q) })?;
        Ok(ns)
    }

    /// The non-empty histogram buckets of `phase`, in increasing order
    /// (`bt_snapshot_buckets`). Error: `UnknownPhase`.
    pub fn buckets(&self, phase: Phase) -> Result<Vec<Bucket>> {
        let mut n = 0usize;
        // SAFETY: cap 0 with a NULL array asks for the count.
        check(unsafe { sys::bt_snapshot_buckets(ptr::null_mut(), 0, &mut n, self.snapshot.as_ptr(), self.index, phase.id()) })?;
        let mut raw = vec![sys::bt_bucket { lower_ns: 0, upper_ns: 0, count: 0 }; n];
        // SAFETY: the callee writes at most `n` buckets; immutable snapshot.
        check(unsafe { sys::bt_snapshot_buckets(raw.as_mut_ptr(), n, &mut n, self.snapshot.as_ptr(), self.index, phase.id()) })?;
        raw.truncate(n);
        Ok(raw.into_iter().map(|b| Bucket { lower_ns: b.lower_ns, upper_ns: b.upper_ns, count: b.count }).collect())
    }
}
