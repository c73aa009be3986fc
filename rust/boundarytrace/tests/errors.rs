//! The error paths, against the real library: each misuse gives its
//! bt_status as the matching Error variant.
use boundarytrace::{Error, Format, Metrics, Phase, Record};

#[test]
fn unknown_phase_is_reported_on_begin_end_and_queries() {
    let m = Metrics::new().unwrap();
    let t = m.tracer("err_unknown_phase").unwrap();
    assert_eq!(t.phase(Phase::from_id(31)).err(), Some(Error::UnknownPhase));
    assert_eq!(t.begin(Phase::from_id(-7)).err(), Some(Error::UnknownPhase));
    assert_eq!(t.end(Phase::from_id(1000)).err(), Some(Error::UnknownPhase));
    assert_eq!(Phase::from_id(1000).name().err(), Some(Error::UnknownPhase));
    t.finish().unwrap();
    let snap = m.snapshot().unwrap();
    let op = snap.find("err_unknown_phase").unwrap();
    assert_eq!(op.phase(Phase::from_id(1000)).err(), Some(Error::UnknownPhase));
    assert_eq!(op.buckets(Phase::from_id(1000)).err(), Some(Error::UnknownPhase));
}

#[test]
fn phase_open_and_phase_not_open() {
    let m = Metrics::new().unwrap();
    let t = m.tracer("err_phase_state").unwrap();
    assert_eq!(t.end(Phase::EXTRACT).err(), Some(Error::PhaseNotOpen));
    let g = t.phase(Phase::EXTRACT).unwrap();
    assert_eq!(t.phase(Phase::CONVERT).err(), Some(Error::PhaseOpen));
    assert_eq!(t.end(Phase::CONVERT).err(), Some(Error::PhaseNotOpen));
    t.end(Phase::EXTRACT).unwrap();
    assert_eq!(g.end().err(), Some(Error::PhaseNotOpen)); // ended meanwhile
    t.finish().unwrap();
}

#[test]
fn a_finished_tracer_refuses_everything() {
    let m = Metrics::new().unwrap();
    let t = m.tracer("err_finished").unwrap();
    t.set_error().unwrap();
    // finish() consumes the tracer; the raw handle shows what bt.h answers.
    let raw = t.as_ptr();
    unsafe {
        assert_eq!(boundarytrace::sys::bt_tracer_finish(raw), boundarytrace::sys::BT_OK);
        assert_eq!(Error::from_status(boundarytrace::sys::bt_tracer_finish(raw)), Some(Error::Finished));
    }
    assert_eq!(t.begin(Phase::EXTRACT).err(), Some(Error::Finished));
    assert_eq!(t.add_items(1).err(), Some(Error::Finished));
    assert_eq!(t.add_gil_release().err(), Some(Error::Finished));
    assert_eq!(t.add_gil_wait(1).err(), Some(Error::Finished));
    assert_eq!(t.set_workers(2).err(), Some(Error::Finished));
    assert_eq!(t.finish().err(), Some(Error::Finished));
    let snap = m.snapshot().unwrap();
    let s = snap.find("err_finished").unwrap().stats().unwrap();
    assert_eq!((s.count, s.errors), (1, 1)); // recorded once, by the raw finish
}

#[test]
fn bad_names() {
    let m = Metrics::new().unwrap();
    let long = "x".repeat(boundarytrace::sys::BT_NAME_MAX + 1);
    for bad in ["", long.as_str(), "tab\there", "nul\0inside"] {
        assert_eq!(m.tracer(bad).err(), Some(Error::Name), "{:?}", bad);
        assert_eq!(m.op(bad).err(), Some(Error::Name), "{:?}", bad);
        assert_eq!(Phase::register(bad, true).err(), Some(Error::Name), "{:?}", bad);
    }
    let max = "y".repeat(boundarytrace::sys::BT_NAME_MAX);
    assert_eq!(m.op(&max).unwrap().name(), max);
    let snap = m.snapshot().unwrap();
    assert_eq!(snap.find("never_recorded").err(), Some(Error::NotFound));
    assert_eq!(snap.find("").err(), Some(Error::Name));
    assert_eq!(snap.get(snap.len()).err(), Some(Error::NotFound));
}

#[test]
fn conflicting_phase_registration_and_lookup() {
    let p = Phase::register("rust_err_conflict", false).unwrap();
    assert_eq!(Phase::register("rust_err_conflict", false), Ok(p));
    assert_eq!(Phase::register("rust_err_conflict", true).err(), Some(Error::Conflict));
    assert_eq!(Phase::lookup("rust_err_no_such_phase").err(), Some(Error::NotFound));
    assert_eq!(p.gil_held(), Ok(false));
}

#[test]
fn invalid_arguments() {
    let m = Metrics::new().unwrap();
    m.tracer("err_invalid").unwrap().finish().unwrap();
    let snap = m.snapshot().unwrap();
    let op = snap.find("err_invalid").unwrap();
    assert_eq!(op.quantile(Phase::TOTAL, 1.5).err(), Some(Error::Invalid));
    assert_eq!(op.quantile(Phase::TOTAL, f64::NAN).err(), Some(Error::Invalid));
    assert_eq!(snap.write(Format::Json, "").err(), Some(Error::Invalid));
    assert_eq!(snap.export_string(Format::OtlpProtobuf).err(), Some(Error::Invalid));
    assert_eq!(Format::from_raw(99).err(), Some(Error::Invalid));
    assert_eq!(boundarytrace::timeline::start(0).err(), Some(Error::Invalid));
    // Phases longer than the total: nothing recorded.
    let phases = [(Phase::EXTRACT, 10, 1)];
    let r = Record { op_name: "err_invalid", total_ns: 5, phases: &phases, ..Record::default() };
    assert_eq!(m.record(&r).err(), Some(Error::Invalid));
    let r = Record { op_name: "err_invalid", total_ns: 50, phases: &[(Phase::from_id(40), 1, 1)], ..Record::default() };
    assert_eq!(m.record(&r).err(), Some(Error::UnknownPhase));
}

#[test]
fn io_errors() {
    let snap = Metrics::new().unwrap().snapshot().unwrap();
    // A directory is refused (EISDIR).
    let dir = std::env::temp_dir();
    let e = snap.write(Format::Text, &dir).unwrap_err();
    assert_eq!(e, Error::Io(21)); // EISDIR, the errno the library left
    assert_eq!(e.status(), boundarytrace::sys::BT_E_IO);
    assert_eq!(e.os_error().unwrap().raw_os_error(), Some(21));
    assert!(e.to_string().starts_with(e.message()));
    assert!(e.to_string().ends_with(&std::io::Error::from_raw_os_error(21).to_string()));
    // A missing shared directory: NotFound, through `?` into io::Result too.
    let e = boundarytrace::Snapshot::read_shared("/nonexistent/bt-rust").err().unwrap();
    assert_eq!(e.os_error().unwrap().kind(), std::io::ErrorKind::NotFound);
    let read = || -> std::io::Result<usize> { Ok(boundarytrace::Snapshot::read_shared("/nonexistent/bt-rust")?.len()) };
    assert_eq!(read().unwrap_err().kind(), std::io::ErrorKind::NotFound);
    // Errors without errno: none in os_error, their own kind through `?`.
    assert!(Error::NoMem.os_error().is_none() && Error::Io(0).os_error().is_none());
    assert_eq!(std::io::Error::from(Error::Invalid).kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(std::io::Error::from(Error::Io(0)).to_string(), Error::Io(0).to_string());
}

#[test]
fn errors_display_the_library_message() {
    let e = Error::UnknownPhase;
    assert_eq!(e.status(), -4);
    assert_eq!(e.name(), "BT_E_UNKNOWN_PHASE");
    assert_eq!(e.to_string(), "unknown phase id (BT_E_UNKNOWN_PHASE)");
    assert_eq!(Error::from_status(0), None);
    assert_eq!(Error::from_status(-999), Some(Error::Other(-999)));
    assert_eq!(Error::Other(-999).name(), "BT_E_UNKNOWN_STATUS");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::Full);
    assert!(boxed.to_string().contains("BT_E_FULL"));
    // Every code of bt.h maps to its own variant and back.
    for status in -14..=-1 {
        let e = Error::from_status(status).unwrap();
        assert_ne!(e, Error::Other(status), "{}", status);
        assert_eq!(e.status(), status);
    }
}
