"""Bad input: every mistake raises the documented class with a clear message."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import boundarytrace as bt
from boundarytrace import _errors

from conftest import HEADER

#: The documented class of each status, and the built-in exception it also is.
EXPECTED = {
    "BT_E_NULL": (bt.NullArgumentError, ValueError),
    "BT_E_INVALID": (bt.InvalidArgumentError, ValueError),
    "BT_E_NAME": (bt.InvalidNameError, ValueError),
    "BT_E_UNKNOWN_PHASE": (bt.UnknownPhaseError, ValueError),
    "BT_E_PHASE_OPEN": (bt.PhaseOpenError, RuntimeError),
    "BT_E_PHASE_NOT_OPEN": (bt.PhaseNotOpenError, RuntimeError),
    "BT_E_FINISHED": (bt.TracerFinishedError, RuntimeError),
    "BT_E_STRUCT_SIZE": (bt.StructSizeError, ValueError),
    "BT_E_NOMEM": (bt.OutOfMemoryError, MemoryError),
    "BT_E_FULL": (bt.TableFullError, RuntimeError),
    "BT_E_CONFLICT": (bt.PhaseConflictError, ValueError),
    "BT_E_NOT_FOUND": (bt.NotFoundError, LookupError),
    "BT_E_INTERNAL": (bt.InternalError, RuntimeError),
    "BT_E_IO": (bt.FileIOError, OSError),
}


def _library_statuses():
    """(name, value, sentence) of every status the loaded library knows, asked
    directly: 0, -1, -2, ... until bt_status_name says BT_E_UNKNOWN_STATUS."""
    b = bt._state.b
    out = []
    for value in range(0, -1000, -1):
        name = b.status_name(value)
        if name == "BT_E_UNKNOWN_STATUS":
            return out
        out.append((name, value, b.status_str(value)))
    raise AssertionError("bt_status_name never answered BT_E_UNKNOWN_STATUS")


def _header_statuses():
    """(name, value) of every X(...) entry of BT_STATUS_MAP in bt.h."""
    text = HEADER.read_text()
    return [(n, int(v)) for n, v in re.findall(r"X\((BT_(?:OK|E_[A-Z_]+)), (-?\d+),", text)]


def test_errors__every_status_of_the_library_has_its_class():
    statuses = _library_statuses()
    assert statuses[0][:2] == ("BT_OK", 0)
    assert [(n, v) for n, v, _ in statuses] == _header_statuses()  # the header's list, in order
    assert bt._state.statuses == {n: (v, text) for n, v, text in statuses}  # what raise_status uses
    for name, value, text in statuses[1:]:
        cls = _errors.error_class(name)
        assert cls is not bt.Error, f"{name}: no class of its own (add one in _errors.py)"
        assert EXPECTED[name][0] is cls
        assert issubclass(cls, bt.Error) and issubclass(cls, EXPECTED[name][1])
        assert cls.__doc__.startswith(f"``{name}``")
        err = _errors.error_from_status(value, "bt_call", name, text)
        assert type(err) is cls and (err.status, err.status_name, err.call) == (value, name,
                                                                               "bt_call")
        assert str(err) == f"{name}: {text} (in bt_call)"
    assert {n for n, _, _ in statuses[1:]} == set(EXPECTED)  # and no class for a status gone


def test_errors__status_list_is_asked_from_the_library():
    # a library with one more status: the walk finds it, and its sentence
    names = {0: "BT_OK", -1: "BT_E_NULL", -2: "BT_E_NEW"}
    table = _errors.library_statuses(lambda v: names.get(v, "BT_E_UNKNOWN_STATUS"),
                                     lambda v: f"sentence {v}")
    assert table == {"BT_OK": (0, "sentence 0"), "BT_E_NULL": (-1, "sentence -1"),
                     "BT_E_NEW": (-2, "sentence -2")}
    assert _errors.error_class("BT_E_NEW") is bt.Error  # unknown to this package: the base class
    assert not hasattr(_errors, "STATUS_VALUES")  # no second list of values


def test_errors__messages_of_python_side_checks_come_from_the_library(metrics):
    # errors found before the library is asked still carry the library's value and sentence
    t = metrics.trace("op")
    with pytest.raises(bt.InvalidArgumentError) as e:
        t.add_items(-1)
    value, text = bt._state.statuses["BT_E_INVALID"]
    assert e.value.status == value
    assert str(e.value) == f"BT_E_INVALID: {text} (in Tracer.add_items: n = -1 is outside " \
                           f"[0, {2 ** 64 - 1}])"


def _check(excinfo, cls, call):
    err = excinfo.value
    assert type(err) is cls
    assert err.status == bt._state.statuses[err.status_name][0]
    assert err.status_name == bt._state.b.status_name(err.status)
    assert err.call == call
    message = str(err)
    text = bt._state.b.status_str(err.status)
    assert message.startswith(f"{err.status_name}: {text} (in {call}")
    assert message.endswith(")")
    assert message == f"{err.status_name}: {text} (in {call})" or \
        message.startswith(f"{err.status_name}: {text} (in {call}: ")


def test_errors__begin_while_a_phase_is_open(metrics):
    t = metrics.trace("op")
    t.begin(bt.EXTRACT)
    with pytest.raises(bt.PhaseOpenError) as e:
        t.begin(bt.CONVERT)
    _check(e, bt.PhaseOpenError, "bt_phase_begin")
    assert str(e.value) == \
        "BT_E_PHASE_OPEN: a phase is already open on this tracer (in bt_phase_begin)"
    with pytest.raises(bt.PhaseOpenError):
        with t.phase(bt.CONVERT):
            pass


def test_errors__end_without_begin(metrics):
    t = metrics.trace("op")
    with pytest.raises(bt.PhaseNotOpenError) as e:
        t.end(bt.EXTRACT)
    _check(e, bt.PhaseNotOpenError, "bt_phase_end")
    t.begin(bt.EXTRACT)
    with pytest.raises(bt.PhaseNotOpenError):
        t.end(bt.NETWORK)  # another phase is open


def test_errors__unknown_phase_ids_and_names(metrics):
    t = metrics.trace("op")
    unregistered = bt.BT_MAX_PHASES - 1
    assert unregistered >= len(bt.phases())  # the test suite never fills the table
    with pytest.raises(bt.UnknownPhaseError) as e:
        with t.phase(unregistered):
            pass
    _check(e, bt.UnknownPhaseError, "bt_phase_begin")
    with pytest.raises(bt.UnknownPhaseError):
        t.begin(-1)
    with pytest.raises(bt.UnknownPhaseError) as e:
        t.phase(2 ** 40)
    _check(e, bt.UnknownPhaseError, "Tracer.phase")
    with pytest.raises(bt.NotFoundError) as e:
        t.phase("no_such_phase")
    _check(e, bt.NotFoundError, "Tracer.phase")
    assert str(e.value).endswith("(in Tracer.phase: no phase named 'no_such_phase' is "
                                 "registered; register_phase() adds one)")
    with pytest.raises(bt.UnknownPhaseError):
        bt.lookup_phase(unregistered)


def test_errors__finished_tracer(metrics):
    with metrics.trace("op") as t:
        pass
    for action in (lambda: t.begin(0), lambda: t.end(0), t.finish, t.set_error,
                   t.add_gil_release, lambda: t.add_gil_wait(1), lambda: t.set_workers(2)):
        with pytest.raises(bt.TracerFinishedError):
            action()
    with pytest.raises(bt.TracerFinishedError) as e:
        t.add_items(1)
    _check(e, bt.TracerFinishedError, "bt_tracer_add_items")
    assert t.items == 0
    assert metrics.snapshot()["op"].count == 1  # nothing recorded twice


@pytest.mark.parametrize("name", ["", "x" * 256, "é" * 128, "tab\there", "nul\0inside",
                                  "bad\udc80surrogate", "bell\x07"])
def test_errors__bad_names(metrics, name):
    with pytest.raises(bt.InvalidNameError) as e:
        metrics.trace(name)
    assert e.value.status_name == "BT_E_NAME"
    with pytest.raises(bt.InvalidNameError):
        bt.register_phase(name, gil_held=True)
    with pytest.raises(bt.InvalidNameError):
        metrics.record(name, 10)
    with pytest.raises(bt.InvalidNameError):
        bt.traced(name)


def test_errors__longest_name_is_fine(metrics):
    name = "x" * bt.BT_NAME_MAX
    with metrics.trace(name):
        pass
    assert metrics.snapshot()[name].count == 1


def test_errors__wrong_types(metrics):
    t = metrics.trace("op")
    cases = [
        lambda: metrics.trace(42),
        lambda: metrics.trace(b"bytes"),
        lambda: bt.trace(None),
        lambda: t.phase(1.0),
        lambda: t.phase(True),
        lambda: t.phase(None),
        lambda: t.begin([0]),
        lambda: t.add_items("3"),
        lambda: t.add_items(1.5),
        lambda: t.add_items(None),
        lambda: t.set_workers(2.0),
        lambda: t.add_gil_wait("1"),
        lambda: bt.register_phase(b"x", gil_held=True),
        lambda: bt.register_phase("test_errors.x", gil_held="no"),
        lambda: bt.snapshot(metrics="global"),
        lambda: bt.trace("op", metrics=object()),
        lambda: metrics.record("op", "10"),
        lambda: metrics.record("op", 10, phases=[0]),
        lambda: metrics.record("op", 10, phases={0: "1"}),
        lambda: metrics.record("op", 10, phases={0: (1, 2, 3)}),
        lambda: bt.traced(3),
        lambda: bt.set_enabled("yes"),
        lambda: bt.lookup_phase(2.5),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(TypeError):
            case()
            pytest.fail(f"case {i} did not raise")
    metrics.record("op", 10)
    total = metrics.snapshot()["op"].total
    with pytest.raises(TypeError):
        total.quantile("0.5")


def test_errors__out_of_range_values(metrics):
    t = metrics.trace("op")
    for action, call in ((lambda: t.add_gil_wait(-1), "Tracer.add_gil_wait"),
                         (lambda: t.add_items(-1), "Tracer.add_items"),
                         (lambda: t.add_items(2 ** 64), "Tracer.add_items"),
                         (lambda: t.set_workers(2 ** 32), "Tracer.set_workers"),
                         (lambda: t.set_workers(-1), "Tracer.set_workers"),
                         (lambda: metrics.record("op", -5), "Metrics.record")):
        with pytest.raises(bt.InvalidArgumentError) as e:
            action()
        _check(e, bt.InvalidArgumentError, call)
    assert (t.items, t.workers) == (0, 0)  # nothing counted


def test_errors__phases_longer_than_total(metrics):
    with pytest.raises(bt.InvalidArgumentError) as e:
        metrics.record("op", 10, phases={bt.EXTRACT: 20})
    _check(e, bt.InvalidArgumentError, "bt_metrics_record")
    with pytest.raises(bt.UnknownPhaseError):
        metrics.record("op", 10, phases={bt.BT_MAX_PHASES - 1: 1})
    assert "op" not in metrics.snapshot()  # nothing recorded on error


def test_errors__quantile_outside_zero_one(metrics):
    metrics.record("q", 10)
    total = metrics.snapshot()["q"].total
    for q in (-0.1, 1.5, float("nan")):
        with pytest.raises(bt.InvalidArgumentError) as e:
            total.quantile(q)
        _check(e, bt.InvalidArgumentError, "bt_snapshot_quantile")


def test_errors__phase_conflict():
    bt.register_phase("test_errors.held", gil_held=True)
    with pytest.raises(bt.PhaseConflictError) as e:
        bt.register_phase("test_errors.held", gil_held=False)
    _check(e, bt.PhaseConflictError, "bt_phase_register")
    with pytest.raises(bt.PhaseConflictError):
        bt.register_phase("convert", gil_held=True)


def test_errors__operation_table_full():
    with bt.Metrics() as m:
        for i in range(bt.BT_MAX_OPS):
            m.trace(f"op{i}")
        with pytest.raises(bt.TableFullError) as e:
            m.trace("one_too_many")
        _check(e, bt.TableFullError, "bt_op_lookup")
        m.trace("op0").finish()  # known names still work


def test_errors__phase_table_full_in_a_fresh_process(backend):
    # The phase table is process-wide and permanent: fill it in a child.
    code = (
        "import boundarytrace as bt\n"
        f"bt._select_backend({backend!r})\n"
        "n = len(bt.phases())\n"
        "for i in range(bt.BT_MAX_PHASES - n):\n"
        "    bt.register_phase(f'p{i}', gil_held=bool(i % 2))\n"
        "try:\n"
        "    bt.register_phase('one_too_many', gil_held=True)\n"
        "except bt.TableFullError as e:\n"
        "    print(e.status_name, e.call)\n"
        "print(bt.register_phase('p0', gil_held=False).id)\n"  # known names still work
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "BT_E_FULL bt_phase_register"
    assert int(out[1]) == 4


def test_errors__file_error_is_an_oserror_with_our_message():
    err = _errors.error_from_status(-14, "bt_snapshot_write", "BT_E_IO", "text")
    assert isinstance(err, OSError) and str(err) == "BT_E_IO: text (in bt_snapshot_write)"
    err = _errors.error_from_status(-14, "bt_snapshot_write", "BT_E_IO", "text", errno=13,
                                    filename=b"/tmp/x.json")
    assert str(err) == "BT_E_IO: text (in bt_snapshot_write: /tmp/x.json: Permission denied)"
    assert (err.errno, err.filename) == (13, "/tmp/x.json")


def test_errors__exceptions_pickle():
    import pickle
    err = _errors.error_from_status(-5, "bt_phase_begin", "BT_E_PHASE_OPEN", "text")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is bt.PhaseOpenError
    assert (clone.status, clone.status_name, clone.call, str(clone)) == \
        (-5, "BT_E_PHASE_OPEN", "bt_phase_begin", str(err))
