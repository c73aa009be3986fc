//! PyO3 helpers (feature `pyo3`): a GIL-released phase whose GIL wait is
//! measured, as boundarytrace/pybind11.hpp and boundarytrace/python.h define
//! it for C++ and C extensions.
use pyo3::Python;

use crate::error::{Error, Result};
use crate::{now_ns, Phase, Tracer};

/// The tracer inside [`Tracer::allow_threads`]'s closure, while the GIL is
/// released: switch to the next released phase with [`Released::next`],
/// report workers or items through [`Released::tracer`].
pub struct Released<'a, 'm> {
    tracer: &'a mut Tracer<'m>,
    phase: Phase,
}

impl<'m> Released<'_, 'm> {
    /// Ends the current released phase and begins `phase`, the GIL still
    /// released (pybind11.hpp's `ReleasedPhase::next`). Errors: `Conflict`
    /// (`phase` is a GIL-held phase), `UnknownPhase`, `Finished`; on error
    /// the current phase stays open.
    pub fn next(&mut self, phase: Phase) -> Result<()> {
        check_released(phase)?;
        self.tracer.end(self.phase)?;
        self.phase = phase;
        self.tracer.begin(phase)
    }

    /// The phase open now.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The tracer, for `set_workers`, `add_items` and the like.
    pub fn tracer(&self) -> &Tracer<'m> {
        self.tracer
    }
}

/// `Conflict` unless `phase` is registered as GIL-released.
fn check_released(phase: Phase) -> Result<()> {
    if phase.gil_held()? {
        Err(Error::Conflict)
    } else {
        Ok(())
    }
}

impl<'m> Tracer<'m> {
    /// Runs `f` in the GIL-released `phase` (pyo3's `py.allow_threads`),
    /// recording exactly what boundarytrace/pybind11.hpp records:
    ///
    /// 1. `phase` begins and one GIL release is counted
    ///    (`bt_tracer_add_gil_release`), then the GIL is released;
    /// 2. `f` runs; the phase that is open when it returns ends while the
    ///    GIL is still released, so released phases hold the native work only;
    /// 3. the time from that end until the GIL is held again is measured
    ///    with `bt_clock_now_ns` and added as GIL wait
    ///    (`bt_tracer_add_gil_wait`). It falls outside every phase and is
    ///    reported as its own figure ([`Phase::GIL_WAIT`]), not as
    ///    unattributed time: phases + wait + unattributed = total.
    ///
    /// On free-threaded CPython (3.13t) `allow_threads` detaches the thread
    /// state instead; the "GIL wait" then measures re-attaching.
    ///
    /// Errors, before the GIL is released and with nothing recorded:
    /// `Conflict` (`phase` is registered as GIL-held), `UnknownPhase`,
    /// `PhaseOpen` (a phase is open: `&mut self` already rules out a live
    /// [`PhaseGuard`](crate::PhaseGuard)), `Finished`. Errors of the phase
    /// end and of the wait are ignored, as the C++ guard's destructor does.
    ///
    /// ```ignore
    /// let reply = tracer.allow_threads(py, Phase::CONVERT, |r| {
    ///     let frame = encode(&docs);
    ///     r.next(Phase::NETWORK)?;
    ///     send(&frame)
    /// })??;
    /// ```
    pub fn allow_threads<T, F>(&mut self, py: Python<'_>, phase: Phase, f: F) -> Result<T>
    where
        F: Send + FnOnce(&mut Released<'_, 'm>) -> T,
        T: Send,
    {
        check_released(phase)?;
        self.begin(phase)?;
        let _ = self.add_gil_release();
        let tracer: &mut Tracer<'m> = self; // Send: Tracer is Send
        let (out, released_until) = py.allow_threads(move || {
            let mut released = Released { tracer, phase };
            let out = f(&mut released);
            let _ = released.tracer.end(released.phase);
            (out, now_ns())
        });
        let waited = now_ns().saturating_sub(released_until);
        let _ = self.add_gil_wait(waited);
        Ok(out)
    }
}
