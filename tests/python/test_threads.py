"""Threads: many Python threads recording into one operation lose nothing."""

from __future__ import annotations

import threading

import boundarytrace as bt
from conftest import run_threads

THREADS = 8
OPS_PER_THREAD = 1000


def _run_threads(target):
    run_threads(THREADS, target)


def test_threads__eight_threads_one_operation_exact_counts(metrics):
    def work(i):
        for _ in range(OPS_PER_THREAD):
            with metrics.trace("shared") as t:
                with t.phase(bt.EXTRACT):
                    pass
                with t.phase(bt.CONVERT):
                    pass
                with t.phase(bt.NETWORK):
                    pass
                with t.phase(bt.MATERIALIZE):
                    pass
                t.add_items(i + 1)
                t.add_gil_release()

    _run_threads(work)
    op = metrics.snapshot()["shared"]
    n = THREADS * OPS_PER_THREAD
    assert (op.count, op.errors, op.left_open, op.gil_releases) == (n, 0, 0, n)
    assert op.items == OPS_PER_THREAD * sum(range(1, THREADS + 1))
    for name in ("extract", "convert", "network", "materialize"):
        assert op.phases[name].count == n and op.phases[name].entries == n
    assert op.total.count == n
    assert sum(b.count for b in op.total.buckets) == n


def test_threads__records_and_takes_concurrently_add_up(metrics):
    taken = []

    def work(i):
        for k in range(OPS_PER_THREAD):
            if i == 0 and k % 100 == 0:
                taken.append(metrics.take()[0])
            else:
                metrics.record("rec", 10, phases={bt.NETWORK: 4})

    _run_threads(work)
    last, cumulative = metrics.take()
    taken.append(last)
    expected = THREADS * OPS_PER_THREAD - OPS_PER_THREAD // 100
    assert cumulative["rec"].count == expected
    assert sum(s["rec"].count for s in taken if "rec" in s) == expected


def test_threads__a_tracer_handed_to_another_thread(metrics):
    t = metrics.trace("handoff")
    t.begin(bt.EXTRACT)
    t.end(bt.EXTRACT)
    worker = threading.Thread(target=lambda: (t.begin(bt.NETWORK), t.end(bt.NETWORK)))
    worker.start()
    worker.join()
    timing = t.finish()
    assert set(timing.phases) == {"extract", "network"}
