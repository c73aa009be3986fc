"""Per-operation cost of tracing from Python, beside prometheus_client.

One run measures, in ns per operation (best of several rounds):

* boundarytrace, native backend: ``with trace(op)`` + four ``with t.phase(p)``
  blocks (the full traced four-phase operation, recorded into a sink);
* the same with the ctypes backend;
* prometheus_client: four labelled Histogram children timing the same four
  empty blocks with ``with h.time():`` (timing + observing, like a phase);
* prometheus_client: four bare ``h.observe(x)`` calls (observing only);
* the empty loop, for reference (not subtracted).

Run: ``.venv/bin/python tests/python/bench_overhead.py [iterations]``.
Not a test (pytest collects test_*.py only); it asserts nothing.
"""

from __future__ import annotations

import sys
import time

import boundarytrace as bt

ROUNDS = 5


def _best(fn, n: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        t0 = time.perf_counter_ns()
        fn(n)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def _traced_loop(metrics):
    E, C, N, M = bt.EXTRACT, bt.CONVERT, bt.NETWORK, bt.MATERIALIZE

    def loop(n):
        trace = metrics.trace
        for _ in range(n):
            with trace("insert_many") as t:
                with t.phase(E):
                    pass
                with t.phase(C):
                    pass
                with t.phase(N):
                    pass
                with t.phase(M):
                    pass
    return loop


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    results = {}

    def empty(n):
        for _ in range(n):
            pass
    results["empty loop"] = _best(empty, n)

    for name in ("native", "ctypes"):
        bt._select_backend(name)
        with bt.Metrics() as m:
            results[f"boundarytrace {name}: trace + 4 phases"] = _best(_traced_loop(m), n)
            assert m.snapshot()["insert_many"].count == ROUNDS * n

    try:
        import prometheus_client as pc
    except ImportError:
        pc = None
    if pc is not None:
        registry = pc.CollectorRegistry()
        h = pc.Histogram("bench_phase_seconds", "phase time", ["op", "phase"], registry=registry)
        children = [h.labels("insert_many", p) for p in
                    ("extract", "convert", "network", "materialize")]
        e, c, nw, mt = children

        def timed(n):
            for _ in range(n):
                with e.time():
                    pass
                with c.time():
                    pass
                with nw.time():
                    pass
                with mt.time():
                    pass

        def observed(n):
            for _ in range(n):
                e.observe(1e-6)
                c.observe(1e-6)
                nw.observe(1e-6)
                mt.observe(1e-6)

        results["prometheus_client: 4 x Histogram.time()"] = _best(timed, n)
        results["prometheus_client: 4 x Histogram.observe()"] = _best(observed, n)

    print(f"boundarytrace {bt.__version__}, clock {bt.clock_source()}, Python "
          f"{sys.version.split()[0]}, {n} operations x best of {ROUNDS}")
    for label, ns in results.items():
        print(f"  {label:45s} {ns:8.0f} ns/op")


if __name__ == "__main__":
    main()
