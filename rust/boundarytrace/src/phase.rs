//! [`Phase`]: ids of the process-wide phase table.
use std::os::raw::{c_char, c_int};
use std::ptr;

use boundarytrace_sys as sys;

use crate::error::{c_string, check, static_str, Result};

/// A phase id of the process-wide phase table (`bt_phase_id`). The four
/// built-in phases are constants; more are registered at run time
/// ([`Phase::register`]). A `Phase` made from any integer ([`Phase::from_id`])
/// is checked by the library when used ([`Error::UnknownPhase`](crate::Error::UnknownPhase)).
///
/// The phase table is thread-safe: every function here may be called from
/// any thread.
///
/// ```
/// use boundarytrace::Phase;
/// let decode = Phase::register("rust_doc_decode", true)?;
/// assert_eq!(decode.name()?, "rust_doc_decode");
/// assert!(decode.gil_held()?);
/// assert_eq!(Phase::lookup("network")?, Phase::NETWORK);
/// # Ok::<(), boundarytrace::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phase(sys::bt_phase_id);

impl Phase {
    /// Read interpreter objects into a native form; GIL held.
    pub const EXTRACT: Phase = Phase(sys::BT_PHASE_EXTRACT);
    /// Encode the native form; GIL released.
    pub const CONVERT: Phase = Phase(sys::BT_PHASE_CONVERT);
    /// I/O with a server; GIL released.
    pub const NETWORK: Phase = Phase(sys::BT_PHASE_NETWORK);
    /// Build interpreter objects from the results; GIL held.
    pub const MATERIALIZE: Phase = Phase(sys::BT_PHASE_MATERIALIZE);
    /// Pseudo-phase of snapshot queries: the whole operation. Not a phase a
    /// tracer can enter.
    pub const TOTAL: Phase = Phase(sys::BT_PHASE_TOTAL);
    /// Pseudo-phase of snapshot queries: the wait to get the GIL back, one
    /// sample per operation that released it (its entries are the releases).
    /// Not a phase a tracer can enter.
    pub const GIL_WAIT: Phase = Phase(sys::BT_PHASE_GIL_WAIT);

    /// The phase of a raw id, unchecked.
    pub const fn from_id(id: i32) -> Phase {
        Phase(id)
    }

    /// The raw id.
    pub const fn id(self) -> i32 {
        self.0
    }

    /// Registers a phase, or finds it when `name` is already registered with
    /// the same GIL state. Errors: [`Name`](crate::Error::Name),
    /// [`Conflict`](crate::Error::Conflict) (registered with the other GIL
    /// state), [`Full`](crate::Error::Full) (`BT_MAX_PHASES`), `NoMem`.
    pub fn register(name: &str, gil_held: bool) -> Result<Phase> {
        let name = c_string(name)?;
        let mut id = 0;
        // SAFETY: valid out-pointer and NUL-terminated name.
        check(unsafe { sys::bt_phase_register(&mut id, name.as_ptr(), gil_held as c_int) })?;
        Ok(Phase(id))
    }

    /// Finds a registered phase by name. Errors: `Name`, `NotFound`.
    pub fn lookup(name: &str) -> Result<Phase> {
        let name = c_string(name)?;
        let mut id = 0;
        // SAFETY: as in register().
        check(unsafe { sys::bt_phase_lookup(&mut id, name.as_ptr()) })?;
        Ok(Phase(id))
    }

    /// The phase's name (interned: process lifetime). Error: `UnknownPhase`.
    pub fn name(self) -> Result<&'static str> {
        let mut name: *const c_char = ptr::null();
        // SAFETY: valid out-pointer; the other may be NULL (bt.h).
        check(unsafe { sys::bt_phase_get_info(&mut name, ptr::null_mut(), self.0) })?;
        // SAFETY: interned storage of process lifetime.
        Ok(unsafe { static_str(name) })
    }

    /// Whether the GIL is held during the phase. Error: `UnknownPhase`.
    pub fn gil_held(self) -> Result<bool> {
        let mut held: c_int = 0;
        // SAFETY: as in name().
        check(unsafe { sys::bt_phase_get_info(ptr::null_mut(), &mut held, self.0) })?;
        Ok(held != 0)
    }

    /// Number of registered phases (ids 0 .. count-1).
    pub fn count() -> u32 {
        // SAFETY: no arguments.
        unsafe { sys::bt_phase_count() }
    }

    /// Every registered phase, in id order.
    pub fn all() -> impl Iterator<Item = Phase> {
        (0..Phase::count() as i32).map(Phase)
    }
}
