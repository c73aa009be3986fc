//! [`Error`]: the negative `bt_status` codes of bt.h as a Rust error.
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_char;

use boundarytrace_sys as sys;

/// A failed call: one negative `bt_status` of bt.h. Its [`Display`](fmt::Display)
/// is the library's sentence for it (`bt_status_str`) and its name
/// (`bt_status_name`), e.g. "unknown phase id (BT_E_UNKNOWN_PHASE)".
///
/// Values are pinned by bt.h; a code this crate does not know (a newer
/// library) is [`Error::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// `BT_E_NULL`: a required handle or pointer is NULL.
    Null,
    /// `BT_E_INVALID`: an argument is out of range.
    Invalid,
    /// `BT_E_NAME`: a name is empty, longer than `BT_NAME_MAX` bytes, not
    /// UTF-8, or has control characters (a Rust string with an interior NUL
    /// gets it too, without calling the library).
    Name,
    /// `BT_E_UNKNOWN_PHASE`: unknown phase id.
    UnknownPhase,
    /// `BT_E_PHASE_OPEN`: a phase is already open on this tracer.
    PhaseOpen,
    /// `BT_E_PHASE_NOT_OPEN`: that phase is not open on this tracer.
    PhaseNotOpen,
    /// `BT_E_FINISHED`: the tracer has already finished.
    Finished,
    /// `BT_E_STRUCT_SIZE`: struct_size smaller than the first version.
    StructSize,
    /// `BT_E_NOMEM`: out of memory.
    NoMem,
    /// `BT_E_FULL`: a fixed-size table (phases, operations) is full.
    Full,
    /// `BT_E_CONFLICT`: phase name registered with the other GIL state (or,
    /// from the PyO3 helpers, a GIL-held phase used as a released one).
    Conflict,
    /// `BT_E_NOT_FOUND`: no such operation, or index out of range.
    NotFound,
    /// `BT_E_INTERNAL`: internal error of the library.
    Internal,
    /// `BT_E_IO`: a file could not be written or read. The field is the
    /// errno the library left (0 if none), read when the status became this
    /// error, right after the call; [`Error::os_error`] gives it as an
    /// [`std::io::Error`], and `Display` says it.
    Io(i32),
    /// Any other negative code.
    Other(i32),
}

/// `Result<T, Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The error of a status, `None` for `BT_OK` (and positive values).
    pub fn from_status(status: sys::bt_status) -> Option<Error> {
        Some(match status {
            s if s >= 0 => return None,
            sys::BT_E_NULL => Error::Null,
            sys::BT_E_INVALID => Error::Invalid,
            sys::BT_E_NAME => Error::Name,
            sys::BT_E_UNKNOWN_PHASE => Error::UnknownPhase,
            sys::BT_E_PHASE_OPEN => Error::PhaseOpen,
            sys::BT_E_PHASE_NOT_OPEN => Error::PhaseNotOpen,
            sys::BT_E_FINISHED => Error::Finished,
            sys::BT_E_STRUCT_SIZE => Error::StructSize,
            sys::BT_E_NOMEM => Error::NoMem,
            sys::BT_E_FULL => Error::Full,
            sys::BT_E_CONFLICT => Error::Conflict,
            sys::BT_E_NOT_FOUND => Error::NotFound,
            sys::BT_E_INTERNAL => Error::Internal,
            // The library sets errno with BT_E_IO; read before anything else runs.
            sys::BT_E_IO => Error::Io(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)),
            other => Error::Other(other),
        })
    }

    /// The `bt_status` value, e.g. -4 for [`Error::UnknownPhase`].
    pub fn status(&self) -> sys::bt_status {
        match *self {
            Error::Null => sys::BT_E_NULL,
            Error::Invalid => sys::BT_E_INVALID,
            Error::Name => sys::BT_E_NAME,
            Error::UnknownPhase => sys::BT_E_UNKNOWN_PHASE,
            Error::PhaseOpen => sys::BT_E_PHASE_OPEN,
            Error::PhaseNotOpen => sys::BT_E_PHASE_NOT_OPEN,
            Error::Finished => sys::BT_E_FINISHED,
            Error::StructSize => sys::BT_E_STRUCT_SIZE,
            Error::NoMem => sys::BT_E_NOMEM,
            Error::Full => sys::BT_E_FULL,
            Error::Conflict => sys::BT_E_CONFLICT,
            Error::NotFound => sys::BT_E_NOT_FOUND,
            Error::Internal => sys::BT_E_INTERNAL,
            Error::Io(_) => sys::BT_E_IO,
            Error::Other(s) => s,
        }
    }

    /// The status' name from the library, e.g. "BT_E_UNKNOWN_PHASE".
    pub fn name(&self) -> &'static str {
        // SAFETY: static storage (bt.h), any int accepted.
        unsafe { static_str(sys::bt_status_name(self.status())) }
    }

    /// The library's sentence for the status, e.g. "unknown phase id".
    pub fn message(&self) -> &'static str {
        // SAFETY: as for name().
        unsafe { static_str(sys::bt_status_str(self.status())) }
    }

    /// The operating system's error behind an [`Error::Io`] (its errno),
    /// e.g. `NotFound` for a shared directory that does not exist; `None`
    /// for every other error and for an `Io` without errno.
    pub fn os_error(&self) -> Option<std::io::Error> {
        match *self {
            Error::Io(errno) if errno != 0 => Some(std::io::Error::from_raw_os_error(errno)),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.name())?;
        match self.os_error() {
            Some(os) => write!(f, ": {}", os),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

/// For `?` in functions returning `std::io::Result`: an [`Error::Io`] with
/// errno becomes that OS error (its kind and raw code kept); every other
/// error keeps its message, with the nearest kind.
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        use std::io::ErrorKind;
        if let Some(os) = e.os_error() {
            return os;
        }
        let kind = match e {
            Error::Null | Error::Invalid | Error::Name | Error::StructSize => ErrorKind::InvalidInput,
            Error::NotFound => ErrorKind::NotFound,
            Error::NoMem => ErrorKind::OutOfMemory,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// `Ok(())` for `BT_OK`, the error otherwise.
pub(crate) fn check(status: sys::bt_status) -> Result<()> {
    match Error::from_status(status) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// A name for the C API: an interior NUL is [`Error::Name`].
pub(crate) fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Name)
}

/// A path for the C API: an interior NUL is [`Error::Invalid`].
pub(crate) fn c_path(p: &std::path::Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Invalid)
}

/// A string the library keeps for the life of the process (static text,
/// interned names); "" for NULL or non-UTF-8 (names are UTF-8 by contract).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string of process lifetime.
pub(crate) unsafe fn static_str(p: *const c_char) -> &'static str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("")
    }
}
