"""The shared sink (bench_shared; python.json's shared_churn)."""


from .common import (
    fmt_bytes, fmt_cv, fmt_ns, fmt_rate, judged_scaling, load_python, scaling_ratio,
    SHARED_MERGE_RATIO_MAX, SHARED_OP_RATIO_MAX, SHARED_SCALING_MIN, verdict)


# --- shared sink (bench/bench_shared.cpp; python.json's shared_churn) -------------------

SH_OP_SHARED, SH_OP_HEAP = "shared/op/shared_sink", "shared/op/heap_sink"
SH_RECORD = "shared/threads/record_shared"
SH_RECORD_SPACED = "shared/threads/record_shared_spaced"
SH_RECORD_HEAP = "shared/threads/record_heap"
SH_OP_THREADS = "shared/threads/op_shared"
SH_CONTROL = "shared/threads/control_private_work"
SH_PROC_RECORD, SH_PROC_OP, SH_PROC_CONTROL = 0, 1, 2   # bench_shared's ProcWork
SH_MERGE = "shared/merge/restarts_case:%d"                # 0 none, 1 one, 2 the many
SH_MEMORY = "shared/memory/iterations:1/repeats:1"


def shared_thread_ratio(r, path, best=False):
    return scaling_ratio(r, path, best)


def shared_process_name(r, work, procs):
    prefix = "shared/processes/work:%d/processes:%d" % (work, procs)
    for name in r.runs:
        if name == prefix or name.startswith(prefix + "/"):
            return name
    return None


def shared_process_ratio(r, work, best=False):
    one, two = shared_process_name(r, work, 1), shared_process_name(r, work, 2)
    if not (one and two):
        return None
    if best:
        return r.best(two) / r.best(one)
    return r.get(two, "items_per_second") / r.get(one, "items_per_second")


def shared_context(r):
    return r.context.get("bench_shared", {})


def shared_targets(r):
    """Rows (target, measured, goal, met) of the shared sink's goals."""
    rows = []
    if r.has(SH_OP_SHARED) and r.has(SH_OP_HEAP):
        a, b = r.get(SH_OP_SHARED), r.get(SH_OP_HEAP)
        rows.append(("Shared sink: full four-phase op (bound handle), shared sink / in-heap sink",
                     "%s / %s = %.2f×" % (fmt_ns(a), fmt_ns(b), a / b),
                     "≤ %.1f×" % SHARED_OP_RATIO_MAX, a / b <= SHARED_OP_RATIO_MAX))
    if shared_thread_ratio(r, SH_RECORD) is not None:
        _, note, ok = judged_scaling(lambda best: shared_thread_ratio(r, SH_RECORD, best),
                                     lambda best: shared_thread_ratio(r, SH_CONTROL, best))
        rows.append(("Shared sink: records/s, 2 threads / 1 thread (one shared sink)", note,
                     "≥ %.1f×" % SHARED_SCALING_MIN, ok))
    if shared_process_ratio(r, SH_PROC_RECORD) is not None:
        _, note, ok = judged_scaling(
            lambda best: shared_process_ratio(r, SH_PROC_RECORD, best),
            lambda best: shared_process_ratio(r, SH_PROC_CONTROL, best))
        rows.append(("Shared sink: records/s, 2 processes / 1 process (one shared directory)",
                     note, "≥ %.1f×" % SHARED_SCALING_MIN, ok))
    none, many = SH_MERGE % 0, SH_MERGE % 2
    if r.has(none) and r.has(many):
        a, b = r.get(many), r.get(none)
        m = r.runs[many]["median"]
        rows.append(("Shared sink: merge (bt_snapshot_read_shared) after %s worker restarts / "
                     "after none (%d live workers)" % ("{:,.0f}".format(m.get("restarts", 0)),
                                                       m.get("live_workers", 0)),
                     "%s / %s = %.2f×; %d files after the restarts" % (
                         fmt_ns(a), fmt_ns(b), a / b, m.get("files", 0)),
                     "≤ %.1f×" % SHARED_MERGE_RATIO_MAX, a / b <= SHARED_MERGE_RATIO_MAX))
    return rows


def shared_section(r, directory):
    """docs/performance.md, "Shared sink (many processes)"."""
    ctx = shared_context(r)
    churn = (load_python(directory) or {}).get("shared_churn")
    if not ctx and not churn:
        return ["Not measured in this run: no `bench_shared.json`."]
    out = []
    restarts = int(ctx.get("shared_restarts", "0") or 0)
    live = int(ctx.get("shared_live_workers", "0") or 0)
    out.append("`bench/bench_shared.cpp`: a sink opened with `bt_metrics_open_shared()` on a "
               "directory under `/dev/shm` (made with `mkdtemp`, mode 0700, removed at the end), "
               "measured beside the in-heap sink (`bt_metrics_new()`) in one process, "
               "repetitions in random interleaved order (run of %s). The machine has two cores: "
               "two threads or two processes can at most double the rate, and only when nothing "
               "else runs; each scaling figure has a control beside it that shares nothing, the "
               "most any implementation could reach in the same run." % ctx.get("date", "?"))
    out.append("")
    rows = shared_targets(r)
    if rows:
        out.append("| Target | Measured | Goal | Status |")
        out.append("|---|---|---|---|")
        for target, measured, goal, ok in rows:
            out.append("| %s | %s | %s | %s |" % (target, measured, goal, verdict(ok)))
        out.append("")

    if r.has(SH_OP_SHARED) and r.has(SH_OP_HEAP):
        out.append("### A full four-phase operation: shared sink vs in-heap sink")
        out.append("")
        out.append("The per-call benchmark's \"bound four-phase op\" (`bt_tracer_new_op`, 4 × "
                   "`bt_phase_begin`/`bt_phase_end`, `bt_tracer_finish`, `bt_tracer_free`), one "
                   "thread, CPU time per operation (median).")
        out.append("")
        out.append("| Sink | CPU time | Wall time | CV |")
        out.append("|---|---|---|---|")
        for name, label in ((SH_OP_HEAP, "in-heap (`bt_metrics_new`)"),
                            (SH_OP_SHARED, "shared (`bt_metrics_open_shared`)")):
            out.append("| %s | %s | %s | %s |" % (label, fmt_ns(r.get(name)),
                                                 fmt_ns(r.get(name, "real_time")),
                                                 fmt_cv(r.cv(name))))
        out.append("| shared / in-heap | %.2f× | %.2f× | |" % (
            r.get(SH_OP_SHARED) / r.get(SH_OP_HEAP),
            r.get(SH_OP_SHARED, "real_time") / r.get(SH_OP_HEAP, "real_time")))
        out.append("")

    srows = []
    for path, label in ((SH_CONTROL, "control: private work, nothing shared"),
                        (SH_RECORD, "record step (`bt_metrics_record`) into one shared sink"),
                        (SH_RECORD_SPACED, "the same, another operation laid out between the two "
                                           "threads' figures in the slot file"),
                        (SH_RECORD_HEAP, "record step into one in-heap sink"),
                        (SH_OP_THREADS, "full traced op into one shared sink")):
        one, two = path + "/real_time/threads:1", path + "/real_time/threads:2"
        if r.has(one) and r.has(two):
            r1, r2 = r.get(one, "items_per_second"), r.get(two, "items_per_second")
            c1, c2 = r.get(one), r.get(two)
            srows.append("| threads | %s | %s | %s | %.2f× | %.2f× | %.2f× |" % (
                label, fmt_rate(r1), fmt_rate(r2), r2 / r1, r.best(two) / r.best(one),
                2 * c1 / c2))
    for work, label in ((SH_PROC_CONTROL, "control: private work, nothing shared"),
                        (SH_PROC_RECORD, "record step (`bt_metrics_record`) into one directory"),
                        (SH_PROC_OP, "full traced op into one directory")):
        one, two = shared_process_name(r, work, 1), shared_process_name(r, work, 2)
        if one and two:
            r1, r2 = r.get(one, "items_per_second"), r.get(two, "items_per_second")
            srows.append("| processes | %s | %s | %s | %.2f× | %.2f× | |" % (
                label, fmt_rate(r1), fmt_rate(r2), r2 / r1, r.best(two) / r.best(one)))
    if srows:
        out.append("### Scaling: 2 threads, 2 processes")
        out.append("")
        out.append("Threads: Google Benchmark runs the body on 1 and 2 threads recording into one "
                   "shared sink (one slot file); rates are wall-time rates. Processes: each "
                   "iteration forks 1 or 2 children of a process holding the shared sink; each "
                   "child takes its own slot with a first record, says it is ready, waits on a "
                   "pipe that the parent closes to start them together, records %s operations "
                   "and says it is done; the time is from the start to the last done (children "
                   "that leave are folded into the directory's archive by the next one). Rates "
                   "are medians over the repetitions; \"best\" divides the highest 2-way rate by "
                   "the highest 1-way rate (the least disturbed repetitions)." % (
                       "{:,}".format(int(ctx.get("shared_process_ops", "0") or 0))))
        out.append("")
        out.append("| Who | Work | 1 | 2 | 2 / 1 (medians) | 2 / 1 (best) | 2 / 1 (CPU-normalised) |")
        out.append("|---|---|---|---|---|---|---|")
        out += srows
        out.append("")
        out += false_sharing_note(r)

    merges = [(k, SH_MERGE % k) for k in (0, 1, 2) if r.has(SH_MERGE % k)]
    if merges:
        out.append("### Merging a directory after worker restarts")
        out.append("")
        out.append("A worker is a forked child that opens the directory (`bt_metrics_open_shared`: "
                   "it folds the slots of workers that have gone into `archive.bt` and reuses a "
                   "file), records 2 operations of each of 4 names with four phases (µs to ms), "
                   "and exits without freeing the sink. After the restarts, one after the other, "
                   "%d live workers open the directory, record the same and stay. The directory "
                   "without restarts has the same %d live workers. Time: `bt_snapshot_read_shared` "
                   "+ `bt_snapshot_free`, CPU time (median); every merge gives the right counts "
                   "(checked) and skips no file." % (live, live))
        out.append("")
        out.append("| Directory | Merge | CV | × no restart | Files | Bytes on /dev/shm | Processes "
                   "merged | Restart cost (fork, open + fold, record, exit) |")
        out.append("|---|---|---|---|---|---|---|---|")
        base = r.get(SH_MERGE % 0) if r.has(SH_MERGE % 0) else None
        for k, name in merges:
            m = r.runs[name]["median"]
            n = m.get("restarts", 0)
            label = "no restart" if k == 0 else "after %s restart%s" % (
                "{:,.0f}".format(n), "" if n == 1 else "s")
            ratio = "%.2f×" % (r.get(name) / base) if base and k else ""
            out.append("| %s, %d live workers | %s | %s | %s | %d | %s | %s | %s |" % (
                label, m.get("live_workers", 0), fmt_ns(r.get(name)), fmt_cv(r.cv(name)), ratio,
                m.get("files", 0), fmt_bytes(m.get("dir_bytes", 0)),
                "{:,.0f}".format(m.get("processes_merged", 0)),
                "%.2f ms per restart" % m["ms_per_restart"] if n else ""))
        out.append("")
        if base and r.has(SH_MERGE % 1) and r.has(SH_MERGE % 2):
            one, many = r.get(SH_MERGE % 1), r.get(SH_MERGE % 2)
            out.append("After %s restarts / after 1 restart: %.2f×. The merge costs per file, not "
                       "per restart: the archive (`archive.bt`, one file however many workers were "
                       "folded into it, with the layout of a slot) is one more file than the live "
                       "slots, %s here. A process that merges again and again (this benchmark, a "
                       "scraper, `boundarytrace serve`) parses it once per change and keeps it "
                       "(docs/formats.md): it changes only when a worker starts, so after / before "
                       "stays near 1 however many workers came and went." % (
                           "{:,}".format(restarts), many / one, fmt_ns(one - base)))
            out.append("")

    if churn:
        out += churn_section(churn, r)

    if r.has(SH_MEMORY):
        b = r.runs[SH_MEMORY]["median"]
        out.append("### Shared storage per process and per operation")
        out.append("")
        out.append("A new directory, one process: the slot file's header field `used` (bytes handed "
                   "out, read from the file: docs/formats.md) after `bt_metrics_open_shared`, "
                   "then after each step; the file itself grows in whole 64 KiB steps. An "
                   "operation recorded from one thread with four phases of typical latencies "
                   "(5 µs, 40 µs, 800 µs, 20 µs; total 870 µs).")
        out.append("")
        out.append("| Step | Bytes |")
        out.append("|---|---|")
        for key, label in (
                ("header_bytes", "**Per process**: the slot's header (after "
                                 "`bt_metrics_open_shared`, nothing recorded)"),
                ("file_bytes_at_open", "The slot file's size at open (tmpfs, grows in 64 KiB steps)"),
                ("first_op_bytes", "The first operation recorded"),
                ("same_op_again_bytes", "The same operation recorded 100 times more (same buckets)"),
                ("op_bytes_per_op", "**Per operation and process**: each of %d more operations, "
                                    "recorded once" % b.get("ops_measured", 0)),
                ("second_thread_same_op_bytes", "A second thread records an operation already "
                                                "recorded (its own shard of it)"),
                ("wide_op_bytes", "One operation whose phases spread over 1 µs – 1 s "
                                  "(21 octaves × 16 values)"),
                ("file_bytes_after", "The slot file's size after %d operations"
                                     % (b.get("ops_measured", 0) + 1))):
            if key in b:
                out.append("| %s | %s |" % (label, fmt_bytes(b[key])))
        heap = "memory/one_record_per_thread/iterations:1/repeats:1"
        if r.has(heap):
            out.append("| (in-heap sink, for comparison: per operation and thread, "
                       "`bench_memory`) | %s |" % fmt_bytes(r.get(heap, "op_per_thread_bytes")))
        out.append("")
        out.append("No goal was set for these figures.")
        out.append("")
    return out


def false_sharing_note(r):
    """What the spaced layout says about the adjacent one (when both were measured)."""
    adj = shared_thread_ratio(r, SH_RECORD)
    spaced = shared_thread_ratio(r, SH_RECORD_SPACED)
    if adj is None or spaced is None:
        return []
    one, two = SH_RECORD + "/real_time/threads:1", SH_RECORD + "/real_time/threads:2"
    cpu1, cpu2 = r.get(one), r.get(two)
    s1, s2 = (r.get(SH_RECORD_SPACED + "/real_time/threads:1"),
              r.get(SH_RECORD_SPACED + "/real_time/threads:2"))
    out = ["Layout: each benchmark has a sink of its own whose first record the main thread "
           "made; the second thread's figures of the operation are laid out in the slot file "
           "when it first records, right after the first thread's. CPU per record, 1 → 2 "
           "threads: %s → %s in that layout, %s → %s when another operation was laid out in "
           "between (\"spaced\")." % (fmt_ns(cpu1), fmt_ns(cpu2), fmt_ns(s1), fmt_ns(s2))]
    if 2 * cpu1 / cpu2 < SHARED_SCALING_MIN <= 2 * s1 / s2:
        out[0] += (" The slot file hands out storage in whole 64-byte cache lines and starts "
                   "another thread's storage four lines further on (`Slot::alloc`), because a "
                   "core's next-line prefetchers pull in the lines just past what it writes: "
                   "with the second thread's shard right after the first thread's last bucket "
                   "block, its lock bounced between the cores on every record (1.43× before that "
                   "gap; `perf` showed the lock's exchange at 44 % of `record_shared`'s samples "
                   "against 14 % alone). If this paragraph shows, the gap no longer suffices.")
    out.append("")
    return out


def churn_cases(churn):
    return {c["name"]: c for c in churn.get("cases", [])}


def churn_ratio(churn, lib):
    cases = churn_cases(churn)
    a, b = cases.get(lib + "/churn"), cases.get(lib + "/none")
    if not (a and b):
        return None
    return a["cpu_ns"]["median"] / b["cpu_ns"]["median"]


def churn_section(churn, r=None):
    ctx = churn["context"]
    cases = churn_cases(churn)
    dirs = churn["directories"]
    out = ["### Worker churn: prometheus_client's multiprocess mode beside the shared directory",
           ""]
    out.append("`bench/python/bench_shared_churn.py`, Python %s, prometheus_client %s, "
               "boundarytrace %s (%s backend). For each library a directory with %d live workers "
               "only, and one where %s workers ran first, one after the other (each forked, "
               "records, exits), then the same %d live workers. A worker records, for each of %d "
               "operation names, %d operations: prometheus_client (`PROMETHEUS_MULTIPROC_DIR`) "
               "observes a Histogram (label `op`, default buckets) and increments a Counter; after "
               "each worker exits the parent calls `multiprocess.mark_process_dead(pid)`, as "
               "prometheus_client's documentation tells a gunicorn `child_exit` hook to. "
               "boundarytrace: `bt.Metrics.open_shared(dir)` and `Metrics.record` of the total and "
               "its four phases. Reads (what a `/metrics` endpoint does), %d rounds in shuffled "
               "order, CPU time per read (median): prometheus_client `generate_latest` of a "
               "registry holding a `MultiProcessCollector`; boundarytrace `bt.read_shared(dir)` "
               "(the merge) and `bt.read_shared(dir).export(\"prometheus\")`." % (
                   ctx["python"], ctx["prometheus_client"], ctx["boundarytrace"], ctx["backend"],
                   ctx["live_workers"], "{:,}".format(ctx["restarts"]), ctx["live_workers"],
                   ctx["ops_per_worker"], ctx["records_per_op"], ctx["rounds"]))
    out.append("")
    out.append("| Library, read | After 0 restarts | After %s restarts | After / before | Files "
               "after 0 | Files after %s | Restart cost |" % (
                   "{:,}".format(ctx["restarts"]), "{:,}".format(ctx["restarts"])))
    out.append("|---|---|---|---|---|---|---|")
    for lib, dlib, label in (
            ("prometheus", "prometheus", "prometheus_client, `generate_latest` (MultiProcessCollector)"),
            ("boundarytrace_merge", "boundarytrace", "boundarytrace (Python), `bt.read_shared`"),
            ("boundarytrace_export", "boundarytrace",
             "boundarytrace (Python), `bt.read_shared` + `export(\"prometheus\")`")):
        a, b = cases.get(lib + "/none"), cases.get(lib + "/churn")
        if not (a and b):
            continue
        d0, d1 = dirs.get(dlib + "/none", {}), dirs.get(dlib + "/churn", {})
        out.append("| %s | %s | %s | %.2f× | %s | %s | %.1f ms |" % (
            label, fmt_ns(a["cpu_ns"]["median"]), fmt_ns(b["cpu_ns"]["median"]),
            b["cpu_ns"]["median"] / a["cpu_ns"]["median"], d0.get("files", "?"),
            d1.get("files", "?"), d1.get("ms_per_restart", 0)))
    if r is not None and r.has(SH_MERGE % 0) and r.has(SH_MERGE % 2):
        m0, m2 = r.runs[SH_MERGE % 0]["median"], r.runs[SH_MERGE % 2]["median"]
        out.append("| boundarytrace (C, `bench_shared`), `bt_snapshot_read_shared`, after %s "
                   "restarts | %s | %s | %.2f× | %d | %d | %.1f ms |" % (
                       "{:,.0f}".format(m2.get("restarts", 0)), fmt_ns(r.get(SH_MERGE % 0)),
                       fmt_ns(r.get(SH_MERGE % 2)), r.get(SH_MERGE % 2) / r.get(SH_MERGE % 0),
                       m0.get("files", 0), m2.get("files", 0), m2.get("ms_per_restart", 0)))
    out.append("")
    pd = dirs.get("prometheus/churn", {})
    out.append("prometheus_client keeps a file per process and metric type (`histogram_<pid>.db`, "
               "`counter_<pid>.db`); `mark_process_dead` removes only the files of live-mode "
               "gauges, so every worker that ever ran leaves its files (%s after the restarts, "
               "against %s for the shared directory) and every scrape reads them all. The "
               "shared directory folds a gone worker's slot into `archive.bt` and reuses its "
               "file: the live workers' slots, the archive and a lock file." % (
                   fmt_bytes(pd.get("bytes", 0)),
                   fmt_bytes(dirs.get("boundarytrace/churn", {}).get("bytes", 0))))
    out.append("")
    return out
