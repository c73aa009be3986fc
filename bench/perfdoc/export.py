"""Snapshot and export at scale (bench_export; issues 13 and 15)."""


from .common import EXPORT_GROWTH_MAX, FLEET_SCRAPE_MAX_NS, fmt_bytes, fmt_ns, targets_table


# --- snapshot + export at scale (bench/bench_export.cpp; issues 13 and 15) ----------------

EX_FORMATS = [
    ("text", "text report (`bt_snapshot_format`)"),
    ("openmetrics", "OpenMetrics (`BT_FORMAT_OPENMETRICS`)"),
    ("prometheus", "Prometheus text 0.0.4 (`BT_FORMAT_PROMETHEUS`)"),
    ("prometheus_protobuf", "Prometheus protobuf, native histograms (`BT_FORMAT_PROMETHEUS_PROTOBUF`)"),
    ("otlp_protobuf", "OTLP protobuf (`BT_FORMAT_OTLP_PROTOBUF`)"),
    ("json", "JSON (`BT_FORMAT_JSON`)"),
]
EX_SERIES = [  # (source, operation counts, what it is)
    ("heap_1thread", (100, 1000), "one in-heap sink (`bt_metrics_new`), 1 thread"),
    ("shared_10proc", (100, 1000, 10000),
     "a shared directory of 10 live worker processes, each with its own N/10 names"),
]
EX_FLEET = [  # (source, operation counts, what it is)
    ("heap_64threads", (100, 1000), "in-heap sink, 64 threads, each recording every operation"),
    ("shared_32proc", (100, 1000),
     "shared directory, 32 live processes, each recording every operation (a pre-fork server)"),
    ("shared_32proc_distinct", (1000, 10000),
     "shared directory, 32 live processes, each with its own ~N/32 names"),
]


def ex_name(source, ops, what):
    return "export/%s/ops:%d/%s" % (source, ops, what)


def ex_time(r, source, ops, what):
    name = ex_name(source, ops, what)
    return r.get(name) if r.has(name) else None


def ex_counter(r, source, ops, what, counter):
    name = ex_name(source, ops, what)
    return r.runs[name]["median"].get(counter) if r.has(name) else None


def ex_growth(r, source, a, b, what):
    """time(b operations) / time(a operations), or None."""
    ta, tb = ex_time(r, source, a, what), ex_time(r, source, b, what)
    return tb / ta if ta and tb else None


def ex_growth_note(r, source, counts, what):
    parts = []
    for a, b in zip(counts, counts[1:]):
        g = ex_growth(r, source, a, b, what)
        if g is not None:
            parts.append("%s → %s: %.2f×" % ("{:,}".format(a), "{:,}".format(b), g))
    return "; ".join(parts)


def ex_time_cells(r, source, counts, what):
    """A row's times at each operation count, and its growth between neighbours."""
    cells = [fmt_ns(ex_time(r, source, n, what)) if ex_time(r, source, n, what) else "–"
             for n in counts]
    grow = []
    for a, b in zip(counts, counts[1:]):
        g = ex_growth(r, source, a, b, what)
        grow.append("%.2f×" % g if g else "–")
    return cells, grow


def fmt_ops(n):
    return "{:,}".format(n)


def export_targets(r):
    """Issue 15: a scrape of the 32-process shared directory under 50 ms, linear or
    better in operations (time per 10x operations at most 10x)."""
    rows = []
    for fmt, label in (("prometheus", "Prometheus text"),
                       ("prometheus_protobuf", "Prometheus protobuf")):
        t = ex_time(r, "shared_32proc", 100, "scrape:" + fmt)
        if t is not None:
            rows.append(("Fleet scrape: merge of a shared directory of 32 processes × 100 operations "
                         "+ %s export" % label, fmt_ns(t), "< %.0f ms" % (FLEET_SCRAPE_MAX_NS / 1e6),
                         t < FLEET_SCRAPE_MAX_NS))
        growths = {}
        for what in ("scrape_cold:", "scrape:"):
            notes = []
            for source, counts in (("shared_32proc", (100, 1000)),
                                   ("shared_32proc_distinct", (1000, 10000))):
                for a, b in zip(counts, counts[1:]):
                    g = ex_growth(r, source, a, b, what + fmt)
                    if g is not None:
                        growths.setdefault(what, []).append(g)
                        notes.append("%s → %s operations%s: %.2f×" % (
                            fmt_ops(a), fmt_ops(b),
                            "" if source == "shared_32proc" else " (distinct names per process)", g))
            growths[what + "notes"] = "; ".join(notes)
        # Judged on scrapes that find the caches cold, as a scraper polling every 15 s
        # does (bench_export.cpp, BM_Scrape): back to back, the smaller directory stays
        # cached between scrapes and the larger does not, which measures the cache.
        judged = "scrape_cold:" if growths.get("scrape_cold:") else "scrape:"
        if growths.get(judged):
            measured = growths[judged + "notes"]
            if judged == "scrape_cold:":
                measured = "caches evicted before each scrape: %s (back to back: %s)" % (
                    measured, growths["scrape:notes"] or "not measured")
            rows.append(("Fleet scrape (%s): growth per 10× operations, 32-process shared directory"
                         % label, measured, "≤ %.0f× (linear or better)" % EXPORT_GROWTH_MAX,
                         max(growths[judged]) <= EXPORT_GROWTH_MAX))
    return rows


def export_section(r):
    """docs/performance.md, "Snapshot and export at scale"."""
    if not any(name.startswith("export/") for name in r.runs):
        return ["Not measured in this run: no `bench_export.json`."]
    out = []
    out.append("`bench/bench_export.cpp` (issue 13's export table, issue 15's fleet scrape). Every "
               "operation name is distinct (`svc.endpoint_00042`) and recorded with four phases of "
               "service-like latencies, each log-uniform over three octaves around extract 5 µs, "
               "convert 40 µs, network 800 µs, materialize 20 µs (plus a little unattributed time, "
               "items, a GIL release, one error in 64), so every histogram holds a dozen buckets or "
               "more. `BT_MAX_OPS` is 1,024 per sink, so 10,000 operations come from a shared "
               "directory: live worker processes (forked, each `bt_metrics_open_shared`) that "
               "record and stay, merged by `bt_snapshot_read_shared` into one snapshot (the merge "
               "has no per-sink limit). A *scrape* is what an endpoint does per request: the "
               "snapshot (`bt_metrics_snapshot`, or the merge of the directory) + the export into "
               "a buffer kept from one scrape to the next + `bt_snapshot_free`; the snapshot "
               "alone and the export alone (of one snapshot) are measured beside it. CPU time, "
               "medians of interleaved repetitions, one run. Growth: time at 10× more operations "
               "/ time at the smaller count (linear would be 10×). Issue 13 sets no goal for these "
               "figures (time and bytes per operation, and their growth, are reported); issue 15's "
               "goal is a scrape of the 32-process shared directory under 50 ms, linear or better "
               "in operations (the rows below; also in Targets above).")
    out.append("")
    rows = export_targets(r)
    if rows:
        out += targets_table(rows)
        out.append("")
    for source, counts, what in EX_SERIES:
        if not any(r.has(ex_name(source, n, "snapshot")) for n in counts):
            continue
        out.append("### Time per scrape: %s" % what)
        out.append("")
        head = "| Scrape (snapshot + export) | " + " | ".join(
            "%s ops" % fmt_ops(n) for n in counts) + " | " + " | ".join(
            "%s → %s" % (fmt_ops(a), fmt_ops(b)) for a, b in zip(counts, counts[1:])) + " |"
        out.append(head)
        out.append("|---" * (1 + 2 * len(counts) - 1) + "|")
        snap_label = ("the snapshot alone (`bt_metrics_snapshot` + free)" if source.startswith("heap")
                      else "the merge alone (`bt_snapshot_read_shared` + free)")
        lines = [("snapshot", snap_label)] + [("scrape:" + f, l) for f, l in EX_FORMATS]
        for what_, label in lines:
            cells, grow = ex_time_cells(r, source, counts, what_)
            out.append("| %s | %s | %s |" % (label, " | ".join(cells), " | ".join(grow)))
        out.append("")
        out.append("The export alone (of a snapshot taken once), and its size per operation:")
        out.append("")
        out.append("| Export | " + " | ".join("%s ops" % fmt_ops(n) for n in counts) + " | " +
                   " | ".join("%s → %s" % (fmt_ops(a), fmt_ops(b)) for a, b in zip(counts, counts[1:]))
                   + " | " + " | ".join("bytes / op at %s" % fmt_ops(n) for n in counts) + " |")
        out.append("|---" * (1 + 3 * len(counts) - 1) + "|")
        for f, label in EX_FORMATS:
            what_ = "export:" + f
            cells, grow = ex_time_cells(r, source, counts, what_)
            sizes = []
            for n in counts:
                b = ex_counter(r, source, n, what_, "bytes_per_op")
                tot = ex_counter(r, source, n, what_, "bytes")
                sizes.append("%s (%s)" % (fmt_bytes(b), fmt_bytes(tot)) if b else "–")
            out.append("| %s | %s | %s | %s |" % (label, " | ".join(cells), " | ".join(grow),
                                                  " | ".join(sizes)))
        out.append("")
    if any(r.has(ex_name(s, n, "snapshot")) for s, counts, _ in EX_FLEET for n in counts):
        out.append("### Fleet scale (issue 15)")
        out.append("")
        out.append("1,000 operations recorded by 64 threads alive at once into one in-heap sink "
                   "(each thread records every operation twice: 64 shards per operation for the "
                   "snapshot to add up), and shared directories of 32 live worker processes: each "
                   "recording the same 100 or 1,000 names 4 times (a pre-fork server whose workers "
                   "all serve every endpoint: the merge folds 32 × N per-process aggregates into "
                   "N), or each its own ~N/32 names (10,000 operations = 32 × ~313 names; one "
                   "sink holds at most 1,024). Time per scrape (snapshot or merge + export + "
                   "free), size per operation in brackets.")
        out.append("")
        out.append("| Source | Operations | Snapshot / merge alone | " + " | ".join(
            "Scrape, %s" % l.split(" (")[0] for f, l in EX_FORMATS) + " |")
        out.append("|---|---|---|" + "---|" * len(EX_FORMATS))
        for source, counts, what in EX_FLEET:
            for n in counts:
                if not r.has(ex_name(source, n, "snapshot")):
                    continue
                cells = [fmt_ns(ex_time(r, source, n, "snapshot"))]
                for f, _ in EX_FORMATS:
                    t = ex_time(r, source, n, "scrape:" + f)
                    b = ex_counter(r, source, n, "scrape:" + f, "bytes_per_op")
                    cells.append("%s (%s/op)" % (fmt_ns(t), fmt_bytes(b)) if t else "–")
                out.append("| %s | %s | %s |" % (what, fmt_ops(n), " | ".join(cells)))
        out.append("")
        out.append("Growth per 10× operations (time at 10× / time at 1×; linear would be 10×):")
        out.append("")
        out.append("| Source | Step | Snapshot / merge alone | " + " | ".join(
            "Scrape, %s" % l.split(" (")[0] for f, l in EX_FORMATS) + " |")
        out.append("|---|---|---|" + "---|" * len(EX_FORMATS))
        for source, counts, what in EX_FLEET:
            for a, b in zip(counts, counts[1:]):
                g = ex_growth(r, source, a, b, "snapshot")
                if g is None:
                    continue
                cells = ["%.2f×" % g]
                for f, _ in EX_FORMATS:
                    gf = ex_growth(r, source, a, b, "scrape:" + f)
                    cells.append("%.2f×" % gf if gf else "–")
                out.append("| %s | %s → %s | %s |" % (what, fmt_ops(a), fmt_ops(b), " | ".join(cells)))
        out.append("")
        cold = [(f, l) for f, l in EX_FORMATS
                if any(r.has(ex_name(s_, n, "scrape_cold:" + f)) for s_, counts, _ in EX_FLEET for n in counts)]
        if cold:
            out.append("The same scrapes with the caches evicted before each (a 512 MiB buffer read, "
                       "untimed), as a scraper polling every 15 s finds them; growth per 10× "
                       "operations in brackets:")
            out.append("")
            out.append("| Source | Operations | " + " | ".join("Scrape, %s" % l.split(" (")[0] for f, l in cold) + " |")
            out.append("|---|---|" + "---|" * len(cold))
            for source, counts, what in EX_FLEET:
                prev = None
                for n in counts:
                    cells = []
                    for f, _ in cold:
                        t = ex_time(r, source, n, "scrape_cold:" + f)
                        g = ex_growth(r, source, prev, n, "scrape_cold:" + f) if prev else None
                        cells.append((fmt_ns(t) + (" (%.2f×)" % g if g else "")) if t else "–")
                    if any(c != "–" for c in cells):
                        out.append("| %s | %s | %s |" % (what, fmt_ops(n), " | ".join(cells)))
                    prev = n
            out.append("")
    out += EXPORT_GROWTH_NOTE
    return out


# What profiling found after the merge, the snapshot and the protobuf export
# were reworked (commits 31e5cea..c22314e). Not measured by bench/run: profile
# again (see bench_export.cpp's header) when cpp_impl/ changes.
EXPORT_GROWTH_NOTE = [
    "Why back-to-back scrapes grow faster than the operations (profiled at commits 31e5cea–448b404; "
    "callgrind counts instructions and models a 4 MiB last-level cache, rdtsc brackets time the "
    "steps, the virtual machine exposes no cache counters): the instructions per operation are "
    "flat, and what grows is where the bytes come from. This machine reads every third line of a "
    "buffer at 0.70 ns a line in 4 MiB, 2.3 ns in 16 MiB, 2.6 ns in 64 MiB and 6.6 ns in 256 MiB: "
    "it keeps some 64 MiB close, whatever the 480 MiB of L3 it reports. The 32-process "
    "directories hold 22.6 MiB of slot files at 100 operations and 221 MiB at 1,000; the merge "
    "reads about 35 lines of a file per operation and writer thread (it read 125 before the "
    "reader skipped the unused offsets and blocks), and the snapshot of 10,000 operations is "
    "some 40 MiB. So a scrape of the small directory finds what the last one read, and a scrape "
    "of the large one reads from memory: per operation, staging a file took 2.1k cycles at 100 "
    "operations and 4.6k at 1,000 (32 × the same names), 3.7k and 5.5k at 1,000 and 10,000 "
    "(distinct names), each step alike. A scrape every 15 s finds neither in the cache: with the "
    "caches evicted before each, the growth is the table above, and that is what the target "
    "judges.",
    "",
    "The 64-thread in-heap sink grows the same way for the same reason: its 64 shards per "
    "operation take some 17 MiB at 100 operations and 176 MiB at 1,000 (the benchmark's resident "
    "size less an empty run's, measured 2026-12-07), and the snapshot reads every shard, so its "
    "back-to-back snapshot grows some 20× and its cold scrape within 10× (tables above). Reading "
    "of each shard's histograms only the buckets between those of its minimum and maximum, as the "
    "shared merge does, took fewer instructions but was slower here (38 → 50 ms at 1,000 "
    "operations, A/B), probably because with two samples per shard the ranges vary from shard to shard "
    "while the whole-range adds it replaced have the same length every time. Not kept.",
    "",
]
