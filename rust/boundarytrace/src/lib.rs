//! Safe Rust API of boundarytrace:
//! where the time goes when a call crosses the boundary between an
//! interpreter (Python) and native code.
//!
//! A native extension wraps each operation in a [`Tracer`] and marks its
//! [`Phase`]s (extract, convert, network, materialize, or registered ones);
//! the library aggregates the timings, process-wide and thread-safe, into
//! per-operation distributions you read from a [`Snapshot`] or export
//! ([`Format`]: text, JSON, Prometheus, OpenMetrics, folded stacks,
//! protobuf). It reports how long the GIL was held, released, and waited
//! for. With the `pyo3` feature, `Tracer::allow_threads` releases the GIL
//! around a phase and measures the wait to get it back.
//!
//! This crate calls only the public C API (`boundarytrace/bt.h`) through
//! [`boundarytrace-sys`](boundarytrace_sys), which links `libboundarytrace`
//! (inside a PyO3 extension: the copy of the `boundarytrace` Python package,
//! so the extension shares the process-wide registry with Python).
//!
//! ```
//! use boundarytrace::{Metrics, Phase};
//!
//! let op = Metrics::global().op("rust_doc_insert")?; // look the name up once
//! let tracer = op.tracer()?;                         // the clock starts
//! {
//!     let _p = tracer.phase(Phase::EXTRACT)?;        // ends when dropped
//! }
//! tracer.add_items(2)?;
//! let timing = tracer.finish()?;                     // recorded
//! assert_eq!(timing.items(), 2);
//!
//! let snap = Metrics::global().snapshot()?;
//! assert!(snap.find("rust_doc_insert")?.stats()?.count >= 1);
//! # Ok::<(), boundarytrace::Error>(())
//! ```
//!
//! Errors are the library's status codes as [`Error`]. Thread-safety follows
//! bt.h: [`Metrics`], [`Op`] and [`Snapshot`] are `Send + Sync`; a
//! [`Tracer`] is `Send` only (one thread at a time).
#![warn(missing_docs)]

mod error;
mod format;
mod metrics;
mod phase;
#[cfg(feature = "pyo3")]
mod python;
mod snapshot;
mod text;
pub mod timeline;
mod tracer;

pub use boundarytrace_sys as sys;
pub use error::{Error, Result};
pub use format::Format;
pub use metrics::{Metrics, Op, OwnedMetrics, Record};
pub use phase::Phase;
#[cfg(feature = "pyo3")]
pub use python::Released;
pub use snapshot::{Bucket, OpEntry, OpStats, PhaseStats, Snapshot, SnapshotInfo};
pub use tracer::{PhaseGuard, Timing, Tracer};

use error::static_str;

/// `bt_version()` of the loaded library: MAJOR*10000 + MINOR*100 + PATCH.
pub fn version() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::bt_version() }
}

/// `bt_version_string()` of the loaded library, e.g. "0.1.0".
pub fn version_string() -> &'static str {
    // SAFETY: static storage.
    unsafe { static_str(sys::bt_version_string()) }
}

/// Checks the loaded library against the declarations this crate was built
/// with: the same ABI major (`bt_abi_version`) and at least
/// `BT_VERSION_NUMBER`. Call it once at start-up (e.g. in a module init);
/// the message names both versions.
///
/// ```
/// boundarytrace::check_version().unwrap();
/// ```
pub fn check_version() -> std::result::Result<(), String> {
    // SAFETY: no arguments.
    let abi = unsafe { sys::bt_abi_version() };
    if abi != sys::BT_ABI_VERSION || version() < sys::BT_VERSION_NUMBER {
        return Err(format!(
            "libboundarytrace {} (ABI {}) is not compatible: built for {} (ABI {})",
            version_string(),
            abi,
            sys::BT_VERSION_STRING,
            sys::BT_ABI_VERSION
        ));
    }
    Ok(())
}

/// The library's monotonic clock, nanoseconds (`bt_clock_now_ns`).
pub fn now_ns() -> u64 {
    // SAFETY: no arguments.
    unsafe { sys::bt_clock_now_ns() }
}

/// "tsc" or "monotonic": the clock in use.
pub fn clock_source() -> &'static str {
    // SAFETY: static storage.
    unsafe { static_str(sys::bt_clock_source()) }
}

/// Switches recording on or off for the whole process (`bt_set_enabled`).
/// While off, recording calls succeed and record nothing.
pub fn set_enabled(enabled: bool) {
    // SAFETY: plain value.
    unsafe { sys::bt_set_enabled(enabled as std::os::raw::c_int) }
}

/// Whether recording is on.
pub fn is_enabled() -> bool {
    // SAFETY: no arguments.
    unsafe { sys::bt_is_enabled() != 0 }
}
