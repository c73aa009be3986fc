//! `Tracer::allow_threads` in an embedded CPython: the GIL is released while
//! the closure runs, the released phases and the wait for the GIL are what
//! boundarytrace/pybind11.hpp records, and every error is answered before the
//! GIL is released, with nothing recorded.
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use boundarytrace::{Error, Metrics, Phase};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// True while this thread holds the GIL.
fn holds_gil() -> bool {
    // SAFETY: PyGILState_Check may be called with or without the GIL once
    // the interpreter is initialised (auto-initialize did that).
    unsafe { pyo3::ffi::PyGILState_Check() == 1 }
}

/// Runs `code` with `scope` as its globals (so its functions see its names).
fn run(py: Python<'_>, code: &str, scope: &Bound<'_, PyDict>) {
    let code = CString::new(code).unwrap();
    py.run(&code, Some(scope), None).unwrap();
}

/// False on a free-threaded CPython running without its GIL (the default
/// there; PYTHON_GIL=1 turns it back on).
fn gil_enabled(py: Python<'_>) -> bool {
    let sys = py.import("sys").unwrap();
    match sys.getattr("_is_gil_enabled") {
        Ok(f) => f.call0().unwrap().extract().unwrap(),
        Err(_) => true, // before 3.13 every build has the GIL
    }
}

#[test]
fn the_closure_runs_without_the_gil_and_the_wait_for_it_is_its_own_figure() {
    Python::with_gil(|py| {
        let m = Metrics::new().unwrap();
        let mut t = m.tracer("pyo3_released").unwrap();
        // A Python thread that keeps the GIL busy, counting its turns in
        // SPINS. Once it holds the GIL the closure has released, getting the
        // GIL back takes CPython's switch interval (set to 50 ms).
        static SPINS: AtomicU64 = AtomicU64::new(0);
        let scope = PyDict::new(py);
        scope
            .set_item("SPINS", &SPINS as *const AtomicU64 as usize)
            .unwrap();
        run(
            py,
            "import ctypes, sys, threading\n\
             old_interval = sys.getswitchinterval()\n\
             sys.setswitchinterval(0.05)\n\
             spins = ctypes.c_uint64.from_address(SPINS)\n\
             started, stop = threading.Event(), threading.Event()\n\
             def spin():\n\
             \x20   started.set()\n\
             \x20   while not stop.is_set():\n\
             \x20       spins.value += 1\n\
             spinner = threading.Thread(target=spin)\n\
             spinner.start()\n\
             started.wait()\n",
            &scope,
        );
        let held_inside = AtomicBool::new(true);
        let out = t
            .allow_threads(py, Phase::CONVERT, |r| {
                held_inside.store(holds_gil(), Ordering::Relaxed);
                // Until the spinner has taken the GIL.
                let (seen, since) = (SPINS.load(Ordering::SeqCst), Instant::now());
                while SPINS.load(Ordering::SeqCst) == seen {
                    assert!(
                        since.elapsed() < Duration::from_secs(30),
                        "the spinner never got the GIL"
                    );
                    thread::yield_now();
                }
                assert_eq!(r.phase(), Phase::CONVERT);
                r.next(Phase::NETWORK).unwrap();
                r.tracer().set_workers(2).unwrap();
                r.phase()
            })
            .unwrap();
        run(
            py,
            "stop.set()\nspinner.join()\nsys.setswitchinterval(old_interval)\n",
            &scope,
        );
        assert!(holds_gil());
        assert!(
            !held_inside.load(Ordering::Relaxed),
            "the closure ran with the GIL held"
        );
        assert_eq!(out, Phase::NETWORK);

        let timing = t.finish().unwrap();
        assert_eq!(timing.phase(Phase::CONVERT).1, 1);
        assert_eq!(timing.phase(Phase::NETWORK).1, 1);
        assert_eq!((timing.gil_releases(), timing.workers()), (1, 2));
        assert!(
            !timing.phase_left_open(),
            "the released phase ends before the GIL is taken back"
        );
        // The spinner held the GIL for at least most of a switch interval.
        // A free-threaded CPython has no GIL to wait for: the closure's
        // thread re-attaches as the spinner runs beside it, and that
        // re-attach (a few µs) is what is measured as the wait; the checks
        // after this one hold for it all the same.
        if gil_enabled(py) {
            assert!(
                timing.gil_wait_ns() >= 20_000_000,
                "GIL wait {} ns",
                timing.gil_wait_ns()
            );
        } else {
            assert!(timing.gil_wait_ns() > 0, "the re-attach was not measured");
        }
        // ... and that wait lies outside every phase: phases + wait <= total.
        let phases: u64 = timing.phases().map(|(_, ns, _)| ns).sum();
        assert!(phases + timing.gil_wait_ns() <= timing.total_ns());
        assert_eq!(
            timing.gil_released_ns(),
            timing.phase(Phase::CONVERT).0 + timing.phase(Phase::NETWORK).0
        );

        let snap = m.snapshot().unwrap();
        let op = snap.find("pyo3_released").unwrap();
        assert_eq!(op.stats().unwrap().gil_releases, 1);
        assert_eq!(op.gil_wait().unwrap().count, 1);
        assert_eq!(op.gil_wait().unwrap().sum_ns, timing.gil_wait_ns());
    });
}

#[test]
fn errors_come_before_the_gil_is_released_and_record_nothing() {
    Python::with_gil(|py| {
        let m = Metrics::new().unwrap();
        let held = Phase::register("pyo3_test_held", true).unwrap();
        let released = Phase::register("pyo3_test_released", false).unwrap();
        let mut t = m.tracer("pyo3_errors").unwrap();
        let ran = AtomicBool::new(false);

        // A GIL-held phase, built-in or registered, is no released phase.
        for phase in [Phase::EXTRACT, Phase::MATERIALIZE, held] {
            assert_eq!(
                t.allow_threads(py, phase, |_| ran.store(true, Ordering::Relaxed)),
                Err(Error::Conflict)
            );
        }
        // A phase id nobody registered.
        assert_eq!(
            t.allow_threads(py, Phase::from_id(40), |_| ran
                .store(true, Ordering::Relaxed)),
            Err(Error::UnknownPhase)
        );
        // A phase already open.
        t.begin(Phase::CONVERT).unwrap();
        assert_eq!(
            t.allow_threads(py, Phase::NETWORK, |_| ran.store(true, Ordering::Relaxed)),
            Err(Error::PhaseOpen)
        );
        t.end(Phase::CONVERT).unwrap();
        assert!(!ran.load(Ordering::Relaxed), "a closure ran after an error");

        // A registered released phase is allowed; switching to a GIL-held
        // one inside fails and leaves the released phase open until the end.
        let next = t
            .allow_threads(py, released, |r| {
                let e = r.next(Phase::MATERIALIZE);
                (e, r.phase())
            })
            .unwrap();
        assert_eq!(next, (Err(Error::Conflict), released));

        let timing = t.finish().unwrap();
        assert_eq!(
            timing.gil_releases(),
            1,
            "only the call that ran counts a release"
        );
        assert_eq!(timing.phase(Phase::CONVERT).1, 1); // the begin/end above
        assert_eq!(timing.phase(Phase::NETWORK).1, 0);
        assert_eq!(timing.phase(Phase::EXTRACT).1, 0);
        assert_eq!(timing.phase(held).1, 0);
        assert_eq!(timing.phase(released).1, 1);
        assert_eq!(timing.phase(Phase::MATERIALIZE).1, 0);
        assert!(!timing.phase_left_open());
    });
}

#[test]
fn a_finished_tracer_is_refused() {
    Python::with_gil(|py| {
        let m = Metrics::new().unwrap();
        let mut t = m.tracer("pyo3_finished").unwrap();
        t.begin(Phase::EXTRACT).unwrap();
        // finish() consumes the tracer; a tracer finished underneath (through
        // the C API, as another binding sharing it could) answers Finished.
        // SAFETY: the pointer is the live tracer's; finishing it leaves it
        // allocated (bt_tracer_finish), and the Tracer frees it on drop.
        assert_eq!(
            unsafe { boundarytrace_sys::bt_tracer_finish(t.as_ptr()) },
            boundarytrace_sys::BT_OK
        );
        let ran = AtomicBool::new(false);
        assert_eq!(
            t.allow_threads(py, Phase::CONVERT, |_| ran.store(true, Ordering::Relaxed)),
            Err(Error::Finished)
        );
        assert!(!ran.load(Ordering::Relaxed));
    });
}

#[test]
fn threads_releasing_at_once_lose_no_count() {
    // Four threads each trace 250 operations whose released phase lets the
    // others in (on a free-threaded CPython they run in parallel throughout).
    const THREADS: u64 = 4;
    const OPS: u64 = 250;
    let m = Metrics::new().unwrap();
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                Python::with_gil(|py| {
                    for _ in 0..OPS {
                        let mut t = m.tracer("pyo3_threads").unwrap();
                        t.begin(Phase::EXTRACT).unwrap();
                        t.end(Phase::EXTRACT).unwrap();
                        t.allow_threads(py, Phase::CONVERT, |r| {
                            assert!(!holds_gil());
                            r.next(Phase::NETWORK).unwrap();
                        })
                        .unwrap();
                        t.begin(Phase::MATERIALIZE).unwrap();
                        t.end(Phase::MATERIALIZE).unwrap();
                        t.finish().unwrap();
                    }
                })
            });
        }
    });
    let snap = m.snapshot().unwrap();
    let op = snap.find("pyo3_threads").unwrap();
    let stats = op.stats().unwrap();
    assert_eq!(stats.count, THREADS * OPS);
    assert_eq!(stats.gil_releases, THREADS * OPS);
    assert_eq!(op.gil_wait().unwrap().count, THREADS * OPS);
    // Each getting the GIL (or the thread state) back was measured.
    assert!(op.gil_wait().unwrap().min_ns > 0);
}
