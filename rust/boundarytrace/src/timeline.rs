//! The timeline: individual operations kept in a ring, exported as Chrome
//! Trace Event JSON (Perfetto UI). Process-wide and thread-safe.
use std::path::Path;

use boundarytrace_sys as sys;

use crate::error::{c_path, check, Error, Result};
use crate::text::read_text;

/// State of the timeline (`bt_timeline_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineInfo {
    /// Operations the ring holds (0 if never started).
    pub capacity: u64,
    /// Operations in the ring now.
    pub kept: u64,
    /// Oldest operations dropped since the start.
    pub dropped: u64,
    /// Operations are being kept.
    pub active: bool,
}

/// Starts keeping the next operations in a ring of `capacity`
/// (`bt_timeline_start`; starting again empties it). Errors: `Invalid`
/// (0 or above `BT_TIMELINE_MAX_CAPACITY`), `NoMem`.
pub fn start(capacity: usize) -> Result<()> {
    // SAFETY: plain value.
    check(unsafe { sys::bt_timeline_start(capacity) })
}

/// Stops keeping operations; those kept stay for export.
pub fn stop() -> Result<()> {
    // SAFETY: no arguments.
    check(unsafe { sys::bt_timeline_stop() })
}

/// The timeline's state.
pub fn info() -> Result<TimelineInfo> {
    let mut i = sys::bt_timeline_info::new();
    // SAFETY: out struct with struct_size set.
    check(unsafe { sys::bt_timeline_get_info(&mut i) })?;
    Ok(TimelineInfo { capacity: i.capacity, kept: i.kept, dropped: i.dropped, active: i.active != 0 })
}

/// The kept operations as Chrome Trace Event JSON (`bt_timeline_export`).
///
/// ```
/// boundarytrace::timeline::start(16)?;
/// boundarytrace::Metrics::global().tracer("doc_timeline")?.finish()?;
/// boundarytrace::timeline::stop()?;
/// assert!(boundarytrace::timeline::export()?.contains("doc_timeline"));
/// # Ok::<(), boundarytrace::Error>(())
/// ```
pub fn export() -> Result<String> {
    // SAFETY: the callee writes at most cap bytes into buf.
    let bytes = read_text(|buf, cap, needed| unsafe { sys::bt_timeline_export(buf, cap, needed) })?;
    String::from_utf8(bytes).map_err(|_| Error::Internal)
}

/// Writes [`export`]'s JSON to `path` atomically (`bt_timeline_write`).
/// Errors: `Invalid` (empty path), `Io`, `NoMem`.
pub fn write<P: AsRef<Path>>(path: P) -> Result<()> {
    let path = c_path(path.as_ref())?;
    // SAFETY: valid path.
    check(unsafe { sys::bt_timeline_write(path.as_ptr()) })
}
