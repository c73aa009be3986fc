//! [`Format`]: the export formats of a snapshot (`bt_format`).
use std::path::Path;

use boundarytrace_sys as sys;

use crate::error::{c_path, check, Error, Result};

/// A machine-readable format of a snapshot (docs/formats.md describes
/// each), for [`Snapshot::export`](crate::Snapshot::export) and
/// [`Snapshot::write`](crate::Snapshot::write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The human report (as [`Snapshot::to_text`](crate::Snapshot::to_text)).
    Text,
    /// Versioned JSON with histogram buckets.
    Json,
    /// Prometheus text exposition format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text, ending with "# EOF".
    OpenMetrics,
    /// Folded stacks, "op;phase nanoseconds" per line (flame graphs).
    Folded,
    /// Prometheus protobuf exposition with native histograms: bytes, not text.
    PrometheusProtobuf,
    /// OTLP metrics, protobuf (ExportMetricsServiceRequest): bytes, not text.
    OtlpProtobuf,
}

impl Format {
    /// The `bt_format` value.
    pub fn raw(self) -> sys::bt_format {
        match self {
            Format::Text => sys::BT_FORMAT_TEXT,
            Format::Json => sys::BT_FORMAT_JSON,
            Format::Prometheus => sys::BT_FORMAT_PROMETHEUS,
            Format::OpenMetrics => sys::BT_FORMAT_OPENMETRICS,
            Format::Folded => sys::BT_FORMAT_FOLDED,
            Format::PrometheusProtobuf => sys::BT_FORMAT_PROMETHEUS_PROTOBUF,
            Format::OtlpProtobuf => sys::BT_FORMAT_OTLP_PROTOBUF,
        }
    }

    /// The format of a `bt_format` value; `Invalid` for an unknown one.
    pub fn from_raw(raw: sys::bt_format) -> Result<Format> {
        Ok(match raw {
            sys::BT_FORMAT_TEXT => Format::Text,
            sys::BT_FORMAT_JSON => Format::Json,
            sys::BT_FORMAT_PROMETHEUS => Format::Prometheus,
            sys::BT_FORMAT_OPENMETRICS => Format::OpenMetrics,
            sys::BT_FORMAT_FOLDED => Format::Folded,
            sys::BT_FORMAT_PROMETHEUS_PROTOBUF => Format::PrometheusProtobuf,
            sys::BT_FORMAT_OTLP_PROTOBUF => Format::OtlpProtobuf,
            _ => return Err(Error::Invalid),
        })
    }

    /// Whether the output is bytes (protobuf) rather than UTF-8 text.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::PrometheusProtobuf | Format::OtlpProtobuf)
    }

    /// The format a file name asks for by its suffix (`bt_format_for_path`):
    /// ".json", ".prom", ".om"/".openmetrics", ".folded", else text.
    ///
    /// ```
    /// use boundarytrace::Format;
    /// assert_eq!(Format::for_path("out/metrics.prom")?, Format::Prometheus);
    /// assert_eq!(Format::for_path("report")?, Format::Text);
    /// # Ok::<(), boundarytrace::Error>(())
    /// ```
    pub fn for_path<P: AsRef<Path>>(path: P) -> Result<Format> {
        let path = c_path(path.as_ref())?;
        let mut out: sys::bt_format = 0;
        // SAFETY: valid out-pointer and path.
        check(unsafe { sys::bt_format_for_path(&mut out, path.as_ptr()) })?;
        Format::from_raw(out)
    }
}
