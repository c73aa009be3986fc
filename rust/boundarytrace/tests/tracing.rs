//! Recording and reading back, against the real library.
use std::thread;

use boundarytrace::{Format, Metrics, Phase, Record, Tracer};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

#[test]
fn thread_safety_follows_bt_h() {
    assert_send::<Tracer<'static>>();
    assert_send::<boundarytrace::Snapshot>();
    assert_sync::<boundarytrace::Snapshot>();
    assert_sync::<Metrics>();
    assert_send::<boundarytrace::OwnedMetrics>();
    assert_sync::<boundarytrace::Op<'static>>();
    assert_send::<boundarytrace::Timing>();
}

#[test]
fn a_dropped_tracer_is_recorded_as_failed_and_a_discarded_one_not_at_all() {
    let m = Metrics::new().unwrap();
    {
        let t = m.tracer("drop_policy").unwrap();
        let _p = t.phase(Phase::EXTRACT).unwrap();
    } // guard, then tracer dropped unfinished
    m.tracer("drop_policy").unwrap().discard();
    let snap = m.snapshot().unwrap();
    let op = snap.find("drop_policy").unwrap();
    let s = op.stats().unwrap();
    assert_eq!((s.count, s.errors, s.left_open), (1, 1, 0));
    assert_eq!(op.phase(Phase::EXTRACT).unwrap().count, 1);
}

#[test]
fn timing_snapshot_and_exports_agree() {
    let m = Metrics::new().unwrap();
    let op = m.op("agree").unwrap();
    let t = op.tracer().unwrap();
    {
        let _p = t.phase(Phase::CONVERT).unwrap();
        thread::sleep(std::time::Duration::from_millis(2));
    }
    t.phase(Phase::CONVERT).unwrap().end().unwrap(); // entered twice
    t.add_gil_release().unwrap();
    t.add_gil_wait(1000).unwrap();
    t.set_workers(3).unwrap();
    t.add_items(4).unwrap();
    t.begin(Phase::MATERIALIZE).unwrap(); // left open: finish closes it
    let timing = t.finish().unwrap();
    assert_eq!(timing.op_name(), "agree");
    assert!(timing.phase_left_open() && !timing.is_error());
    assert_eq!(timing.phase(Phase::CONVERT).1, 2);
    assert!(timing.phase(Phase::CONVERT).0 >= 2_000_000);
    assert_eq!((timing.gil_releases(), timing.gil_wait_ns(), timing.workers(), timing.items()), (1, 1000, 3, 4));
    let entered: Vec<Phase> = timing.phases().map(|(p, _, _)| p).collect();
    assert_eq!(entered, vec![Phase::CONVERT, Phase::MATERIALIZE]);
    let total: u64 = timing.phases().map(|(_, ns, _)| ns).sum();
    // the GIL wait (1000 ns, a given figure) comes out of the rest, down to 0
    let rest = timing.total_ns() - total;
    assert_eq!(timing.unattributed_ns(), rest.saturating_sub(1000));
    assert!(timing.to_text().unwrap().contains("agree"));

    let snap = m.snapshot().unwrap();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap.info().unwrap().op_count, 1);
    let entry = snap.ops().next().unwrap();
    let s = entry.stats().unwrap();
    assert_eq!((s.count, s.left_open, s.items, s.gil_wait_ns, s.workers_max, s.parallel_ops), (1, 1, 4, 1000, 3, 1));
    assert_eq!(s.total_ns, timing.total_ns());
    let phases = entry.phases().unwrap();
    assert_eq!(phases.iter().map(|p| p.name).collect::<Vec<_>>(), vec!["convert", "materialize"]);
    assert_eq!(phases[0].entries, 2);
    assert_eq!(phases[0].gil_held, Some(false));
    let total = entry.total().unwrap();
    assert_eq!((total.gil_held, total.p50_ns, total.count), (None, timing.total_ns(), 1));
    let wait = entry.gil_wait().unwrap();
    assert_eq!((wait.name, wait.gil_held, wait.count, wait.entries, wait.sum_ns), ("GIL wait", None, 1, 1, 1000));
    assert_eq!(entry.quantile(Phase::GIL_WAIT, 1.0).unwrap(), 1000);
    assert_eq!(entry.quantile(Phase::TOTAL, 0.0).unwrap(), timing.total_ns());
    let buckets = entry.buckets(Phase::CONVERT).unwrap();
    assert_eq!(buckets.len(), 1);
    assert!(buckets[0].lower_ns <= phases[0].sum_ns && phases[0].sum_ns < buckets[0].upper_ns);

    for f in [Format::Text, Format::Json, Format::Prometheus, Format::OpenMetrics, Format::Folded] {
        let text = snap.export_string(f).unwrap();
        assert!(text.contains("agree"), "{:?}: {}", f, text);
    }
    assert!(snap.export_string(Format::OpenMetrics).unwrap().trim_end().ends_with("# EOF"));
    for f in [Format::PrometheusProtobuf, Format::OtlpProtobuf] {
        let bytes = snap.export(f).unwrap();
        assert!(bytes.windows(5).any(|w| w == b"agree"), "{:?}", f);
    }
    let dir = std::env::temp_dir().join(format!("bt-rust-write-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("snap.json");
    snap.write(Format::for_path(&path).unwrap(), &path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), snap.export_string(Format::Json).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn take_splits_intervals_and_reset_zeroes() {
    let m = Metrics::new().unwrap();
    let phases = [(Phase::NETWORK, 40, 1)];
    let rec = Record { op_name: "interval", total_ns: 100, phases: &phases, items: 2, ..Record::default() };
    m.record(&rec).unwrap();
    let (interval, cumulative) = m.take().unwrap();
    m.record(&rec).unwrap();
    let (interval2, cumulative2) = m.take().unwrap();
    let count = |s: &boundarytrace::Snapshot| s.find("interval").unwrap().stats().unwrap().count;
    assert_eq!((count(&interval), count(&cumulative)), (1, 1));
    assert_eq!((count(&interval2), count(&cumulative2)), (1, 2));
    let net = cumulative2.find("interval").unwrap().phase(Phase::NETWORK).unwrap();
    assert_eq!((net.count, net.sum_ns, net.min_ns, net.max_ns), (2, 80, 40, 40));
    m.reset().unwrap();
    assert_eq!(count(&m.snapshot().unwrap()), 0);
}

#[test]
fn tracers_move_between_threads_and_count_exactly() {
    let m = Metrics::new().unwrap();
    let op = m.op("threads").unwrap();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let t = op.tracer().unwrap();
                    // Hand the tracer to another thread and finish it there.
                    let t = thread::scope(|s2| s2.spawn(move || { t.add_items(1).unwrap(); t }).join().unwrap());
                    t.finish().unwrap();
                }
            });
        }
    });
    let s = m.snapshot().unwrap().find("threads").unwrap().stats().unwrap();
    assert_eq!((s.count, s.items, s.errors), (200, 200, 0));
}

#[test]
fn registered_phases_and_the_global_sink() {
    let p = Phase::register("rust_tracing_decode", true).unwrap();
    assert!(Phase::all().any(|q| q == p));
    assert!(Phase::count() as i32 > p.id());
    let t = Metrics::global().tracer("rust_global_op").unwrap();
    t.phase(p).unwrap().end().unwrap();
    t.finish().unwrap();
    let snap = Metrics::global().snapshot().unwrap();
    let entry = snap.find("rust_global_op").unwrap();
    assert_eq!(entry.phase(p).unwrap().name, "rust_tracing_decode");
    assert!(boundarytrace::version() >= 100 && !boundarytrace::version_string().is_empty());
    assert!(matches!(boundarytrace::clock_source(), "tsc" | "monotonic"));
    assert!(boundarytrace::now_ns() > 0 && boundarytrace::is_enabled());
}
