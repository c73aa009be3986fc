"""Tracers, phases inside a tracer, timings, the decorator and external records."""

from __future__ import annotations

import asyncio
import time

import pytest

import boundarytrace as bt

SLEEP_S = 0.002
# time.sleep never returns early; the library's calibrated clock may read a
# little short of the OS clock, so the bound keeps a wide margin.
SLEEP_NS_AT_LEAST = 1_500_000


def test_trace__records_one_operation_per_block(metrics):
    with metrics.trace("insert_many") as t:
        pass
    snap = metrics.snapshot()
    assert list(snap.ops) == ["insert_many"]
    assert snap["insert_many"].count == 1
    assert t.finished
    assert t.timing.op_name == "insert_many"


def test_trace__four_phases_by_id_and_by_name(metrics):
    with metrics.trace("op") as t:
        with t.phase(bt.EXTRACT):
            time.sleep(SLEEP_S)
        with t.phase("convert"):
            time.sleep(SLEEP_S)
        with t.phase(2):
            time.sleep(SLEEP_S)
        with t.phase(bt.lookup_phase("materialize")):
            time.sleep(SLEEP_S)
    timing = t.timing
    assert list(timing.phases) == ["extract", "convert", "network", "materialize"]
    for name in timing.phases:
        assert timing.phases[name].ns >= SLEEP_NS_AT_LEAST
        assert timing.phases[name].entries == 1
    assert timing.phase_ns(bt.EXTRACT) == timing.phases["extract"].ns
    assert timing.phase_entries("network") == 1
    in_phases = sum(p.ns for p in timing.phases.values())
    assert timing.total_ns == in_phases + timing.unattributed_ns
    assert timing.gil_held_ns == timing.phases["extract"].ns + timing.phases["materialize"].ns
    assert timing.gil_released_ns == timing.phases["convert"].ns + timing.phases["network"].ns
    assert 0.0 < timing.gil_held_share < 1.0
    assert not timing.error and not timing.phase_left_open


def test_trace__phase_scope_is_reported_and_nested_misuse_is_safe(metrics):
    with metrics.trace("op") as t:
        with t.phase("network") as scope:
            assert scope.phase == 2
            with pytest.raises(bt.PhaseOpenError):
                with t.phase(bt.NETWORK):
                    pass
        # the outer scope still closed the phase: a new one can open
        with t.phase(bt.MATERIALIZE):
            pass
    assert t.timing.phases["network"].entries == 1
    assert not t.timing.phase_left_open


def test_trace__dropped_without_finishing_records_nothing(metrics):
    t = metrics.trace("dropped")
    t.begin(bt.EXTRACT)
    del t
    snap = metrics.snapshot()
    assert "dropped" not in snap or snap["dropped"].count == 0


def test_trace__timing_is_none_until_finished(metrics):
    t = metrics.trace("op")
    assert t.timing is None and not t.finished
    timing = t.finish()
    assert timing is t.timing and t.finished


def test_trace__repeated_phase_accumulates_time_and_entries(metrics):
    with metrics.trace("batches") as t:
        for _ in range(3):
            with t.phase(bt.CONVERT):
                pass
            with t.phase(bt.NETWORK):
                time.sleep(SLEEP_S)
    assert t.timing.phases["convert"].entries == 3
    assert t.timing.phases["network"].entries == 3
    assert t.timing.phases["network"].ns >= 3 * SLEEP_NS_AT_LEAST
    stats = metrics.snapshot()["batches"]
    assert stats.phases["network"].entries == 3
    assert stats.phases["network"].count == 1


def test_trace__custom_phase_counts_with_its_gil_state(metrics):
    compress = bt.register_phase("test_tracing.compress", gil_held=False)
    with metrics.trace("op") as t:
        with t.phase(compress):
            time.sleep(SLEEP_S)
        with t.phase("test_tracing.compress"):
            pass
    timing = t.timing
    assert timing.phases["test_tracing.compress"].entries == 2
    assert timing.gil_released_ns == timing.phases["test_tracing.compress"].ns
    assert timing.gil_held_ns == 0
    assert metrics.snapshot()["op"].phases["test_tracing.compress"].gil_held is False


def test_trace__manual_begin_end(metrics):
    t = metrics.trace("op")
    t.begin(bt.EXTRACT)
    t.end("extract")
    t.begin(bt.NETWORK)
    timing = t.finish()  # network left open: finish closes it and says so
    assert timing.phase_left_open
    assert timing.phases["network"].entries == 1
    assert metrics.snapshot()["op"].left_open == 1


def test_trace__returns_a_tracer(metrics):
    t = metrics.trace("op")
    assert type(t) is bt.Tracer and type(bt.trace("test_tracing.tracer")) is bt.Tracer
    assert repr(t) == "Tracer('op', finished=False)"
    assert bt.Tracer.__module__ == "boundarytrace"


def test_trace__counters(metrics):
    with metrics.trace("op") as t:
        t.add_items(10)
        t.add_items(5)
        assert t.items == 15
        t.add_items(5)
        t.set_workers(4)
        t.set_workers(2)  # the largest value wins
        assert t.workers == 4
        t.add_gil_release()
        t.add_gil_release()
        t.add_gil_wait(1234)
    timing = t.timing
    assert (timing.items, timing.workers, timing.gil_releases, timing.gil_wait_ns) == \
        (20, 4, 2, 1234)
    assert t.items == 20 and t.workers == 4
    op = metrics.snapshot()["op"]
    assert (op.items, op.workers_max, op.gil_releases, op.gil_wait_ns, op.parallel_ops) == \
        (20, 4, 2, 1234, 1)


def test_trace__exception_marks_error_closes_phase_and_propagates(metrics):
    with pytest.raises(KeyError):
        with metrics.trace("op") as t:
            with t.phase(bt.EXTRACT):
                raise KeyError("boom")
    assert t.timing.error
    assert not t.timing.phase_left_open  # the phase scope closed it
    assert t.timing.phases["extract"].entries == 1
    with pytest.raises(ValueError):
        with metrics.trace("op") as t2:
            t2.begin(bt.NETWORK)  # opened by hand, closed by the trace
            raise ValueError
    assert t2.timing.error and not t2.timing.phase_left_open
    op = metrics.snapshot()["op"]
    assert (op.count, op.errors, op.left_open) == (2, 2, 0)


def test_trace__items_and_workers_are_read_only(metrics):
    t = metrics.trace("op")
    for name in ("items", "workers"):
        with pytest.raises(AttributeError):
            setattr(t, name, 3)
    with pytest.raises(AttributeError):
        t.items += 1
    assert (t.items, t.workers) == (0, 0)
    for old in ("error", "gil_release", "gil_wait"):  # the verbs are add_* / set_*
        assert not hasattr(t, old)


def test_trace__set_error_marks_without_exception(metrics):
    with metrics.trace("op") as t:
        t.set_error()
    assert t.timing.error
    assert metrics.snapshot()["op"].errors == 1


def test_trace__finish_inside_block_is_not_an_error(metrics):
    with metrics.trace("op") as t:
        timing = t.finish()
    assert timing.total_ns >= 0
    assert metrics.snapshot()["op"].count == 1


def test_trace__global_sink_by_default():
    with bt.trace("test_tracing.global") as t:
        with t.phase(bt.EXTRACT):
            pass
    assert bt.snapshot()["test_tracing.global"].count == 1
    assert bt.global_metrics().is_global


def test_trace__timing_format_and_dict(metrics):
    with metrics.trace("op") as t:
        with t.phase(bt.EXTRACT):
            pass
        t.add_items(3)
    text = str(t.timing)
    assert "op" in text and "extract" in text
    d = t.timing.to_dict()
    assert d["op_name"] == "op" and d["items"] == 3 and d["phases"]["extract"]["entries"] == 1


def test_trace__disabled_records_nothing(metrics):
    bt.set_enabled(False)
    assert not bt.enabled()
    with metrics.trace("off") as t:
        with t.phase(bt.EXTRACT):
            pass
        with t.phase(bt.EXTRACT):  # every call is a no-op: no error either
            pass
    bt.set_enabled(True)
    assert bt.enabled()
    assert "off" not in metrics.snapshot() or metrics.snapshot()["off"].count == 0


# --- decorator ---------------------------------------------------------------

def test_traced__named_after_the_function():
    @bt.traced
    def handler(x):
        return x * 2

    assert handler(21) == 42
    assert handler.__name__ == "handler"
    assert bt.snapshot()["handler"].count == 1


def test_traced__with_a_name_and_a_sink(metrics):
    @bt.traced("custom.op", metrics=metrics)
    def work():
        return "done"

    @metrics.traced()
    def other():
        return 1

    assert work() == "done" and other() == 1
    assert metrics.snapshot()["custom.op"].count == 1
    assert metrics.snapshot()["other"].count == 1


def test_traced__exception_marks_error(metrics):
    @bt.traced(metrics=metrics)
    def fails():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        fails()
    op = metrics.snapshot()["fails"]
    assert (op.count, op.errors) == (1, 1)


def test_traced__coroutine_function(metrics):
    @bt.traced("async.op", metrics=metrics)
    async def fetch():
        await asyncio.sleep(SLEEP_S)
        return 7

    assert asyncio.run(fetch()) == 7
    op = metrics.snapshot()["async.op"]
    assert op.count == 1 and op.total_ns >= SLEEP_NS_AT_LEAST


# --- records of timings measured elsewhere ------------------------------------

def test_record__external_timing(metrics):
    metrics.record("ext", 1000, phases={bt.EXTRACT: 100, "network": (500, 2)}, items=4,
                   gil_wait_ns=7, gil_releases=1, workers=3, error=True)
    op = metrics.snapshot()["ext"]
    assert (op.count, op.errors, op.items, op.total_ns) == (1, 1, 4, 1000)
    # the GIL wait (7 ns) falls between phases: out of the unattributed time
    assert (op.gil_held_ns, op.gil_released_ns, op.unattributed_ns) == (100, 500, 400 - 7)
    assert (op.gil_wait_ns, op.gil_releases, op.workers_max) == (7, 1, 3)
    assert op.phases["network"].entries == 2


def test_record__a_finished_timing_again(metrics):
    with metrics.trace("again") as t:
        with t.phase(bt.CONVERT):
            pass
        t.add_items(2)
    with bt.Metrics() as other:
        other.record(t.timing)
        op = other.snapshot()["again"]
        assert (op.count, op.items, op.total_ns) == (1, 2, t.timing.total_ns)
        assert op.phases["convert"].sum_ns == t.timing.phases["convert"].ns


def test_record__module_function_into_global():
    bt.record("test_tracing.rec", 50, phases={0: 20})
    assert bt.snapshot()["test_tracing.rec"].phases["extract"].sum_ns == 20


def test_metrics__closed_sink_refuses_work_and_tracers_outlive_it():
    m = bt.Metrics()
    t = m.trace("op")
    m.close()
    assert m.closed
    with pytest.raises(bt.NullArgumentError, match="closed"):
        m.trace("op")
    with pytest.raises(bt.NullArgumentError):
        m.snapshot()
    t.finish()  # the sink is freed only once no tracer of it is left
    m.close()  # closing twice is fine


def test_metrics__global_sink_ignores_close():
    g = bt.global_metrics()
    g.close()
    assert not g.closed
    with bt.trace("test_tracing.after_close"):
        pass
    assert bt.snapshot()["test_tracing.after_close"].count == 1
