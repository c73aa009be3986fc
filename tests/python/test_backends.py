"""The two backends read the same library state identically.

Both are loaded in this process and drive one copy of libboundarytrace, so a
snapshot read through the ctypes Structures must equal the same snapshot read
through the C structs compiled into the extension: this checks the ctypes
mirrors of bt_timing, bt_op_stats, bt_phase_stats, bt_bucket and
bt_snapshot_info field by field.
"""

from __future__ import annotations

import ctypes
import re

import pytest

import boundarytrace as bt
from boundarytrace import _backend

from conftest import HEADER


def test_backends__same_snapshot_through_both():
    native = _backend.load("native")
    cty = _backend.load("ctypes")
    for v in (3, 17, 400, 90000):  # the global sink: both backends reach it
        bt.record("cmp", v * 3, phases={bt.EXTRACT: v, bt.NETWORK: (v, 2)}, items=v,
                  gil_wait_ns=v, gil_releases=2, workers=3, error=v == 17)
    a, b = native.metrics_global().snapshot(), cty.metrics_global().snapshot()
    assert a.info()[0] == b.info()[0] and a.info()[3] == b.info()[3]
    i = a.find(b"cmp")
    assert i == b.find(b"cmp") is not None
    assert a.op_stats(i) == b.op_stats(i)
    for pid in (-1, 0, 1, 2, 3):
        assert a.phase_stats(i, pid) == b.phase_stats(i, pid)
        assert a.buckets(i, pid) == b.buckets(i, pid)
        assert a.quantile(i, pid, 0.5) == b.quantile(i, pid, 0.5)
    # the first line says how long the interval was: the snapshots differ there
    assert a.format().split("\n")[1:] == b.format().split("\n")[1:]


def test_backends__same_timing_through_both():
    native = _backend.load("native")
    cty = _backend.load("ctypes")
    rows = []
    for mod in (native, cty):
        t = mod.metrics_global().op(b"timing_cmp").tracer()
        t.begin(0)
        t.end(0)
        t.add_items(9)
        t.set_workers(5)
        t.add_gil_wait(77)
        t.set_error()
        t.finish()
        rows.append(t.timing())
    (n, c) = rows
    assert n[0] == c[0] == "timing_cmp"
    assert n[6:10] == c[6:10] == (9, 0, 5, 1)  # items, releases, workers, flags
    assert n[5] == c[5] == 77
    assert len(n[10]) == len(c[10]) == bt._state.b.phase_count()
    assert native.timing_format(*((b"x",) + n[1:])) == cty.timing_format(*((b"x",) + n[1:]))


def test_backends__native_scope_checks_its_arguments():
    native = _backend.load("native")
    with pytest.raises(TypeError):
        native.scope(object(), 0)
    with pytest.raises(TypeError):
        native.scope(None, 0)
    tracer = native.metrics_global().op(b"scope_args").tracer()
    with pytest.raises(TypeError):
        native.scope(tracer, "0")
    with pytest.raises(bt.UnknownPhaseError):
        native.scope(tracer, 2 ** 40)
    with native.scope(tracer, 0) as s:
        assert s.phase == 0
    tracer.finish()



def test_backends__ctypes_hot_path_passes_handles_and_returns_statuses():
    cty = _backend.load("ctypes")
    op = cty.metrics_global().op(b"hot_path_args")
    # a pointer argument passes the address its c_void_p holds
    assert cty._lib.bt_op_name(cty._pointer_arg(op._h)) == b"hot_path_args"
    far = ctypes.c_void_p(2 ** 63)
    assert cty._pointer_arg(far) is far  # beyond byref's offset: the c_void_p itself
    # the hot functions (no restype) return the library's status as an int
    tracer = op.tracer()
    assert cty._hot_phase_begin(tracer._h, 0) == 0
    assert cty._hot_phase_begin(tracer._h, 1) == cty._STATUS["BT_E_PHASE_OPEN"]
    assert cty._hot_phase_end(tracer._h, 1) == cty._STATUS["BT_E_PHASE_NOT_OPEN"]
    assert cty._hot_phase_end(tracer._h, 0) == 0
    tracer.finish()
    assert cty._hot_phase_begin(tracer._h, 0) == cty._STATUS["BT_E_FINISHED"]
    assert tracer.timing()[0] == "hot_path_args" and tracer.timing()[11][0] == 1

# --- the ctypes declarations follow bt.h -------------------------------------------------------

def _header_functions():
    """name -> (return type, [parameter types]) of every BT_API function in bt.h,
    types normalised to e.g. "const char *", "bt_snapshot **", "size_t"."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)

    def norm(decl):
        stars = decl.count("*")
        words = decl.replace("*", " ").split()
        return " ".join(words) + (" " + "*" * stars if stars else "")

    out = {}
    for ret, name, params in re.findall(r"BT_API\s+([\w\s]+?\**)\s*(bt_\w+)\s*\(([^)]*)\)\s*;",
                                        text):
        types = []
        for p in params.split(","):
            p = p.strip()
            if p in ("void", ""):
                continue
            types.append(norm(re.sub(r"\w+$", "", p)))  # drop the parameter's name
        out[name] = (norm(ret), types)
    return out


def _ctypes_of(c_type, cty):
    """The ctypes type that stands for a C type of bt.h."""
    C = ctypes
    handles = ("bt_tracer", "bt_metrics", "bt_op", "bt_snapshot")
    base, _, stars = c_type.partition(" *")
    stars = "*" + stars if _ else ""
    base = base.replace("const ", "")
    if c_type in ("const char *",):
        return C.c_char_p
    if c_type == "const char **":
        return C.POINTER(C.c_char_p)
    if c_type == "char *":
        return C.POINTER(C.c_char)
    if base in handles:
        return {"*": C.c_void_p, "**": C.POINTER(C.c_void_p)}[stars]
    scalar = {"int": C.c_int, "unsigned": C.c_uint, "bt_status": C.c_int, "bt_format": C.c_int,
              "bt_phase_id": C.c_int32, "size_t": C.c_size_t, "uint64_t": C.c_uint64,
              "int64_t": C.c_int64,
              "uint32_t": C.c_uint32, "double": C.c_double, "void": None,
              "bt_timing": cty.BtTiming, "bt_op_stats": cty.BtOpStats,
              "bt_phase_stats": cty.BtPhaseStats, "bt_bucket": cty.BtBucket,
              "bt_snapshot_info": cty.BtSnapshotInfo, "bt_timeline_info": cty.BtTimelineInfo}
    t = scalar[base]
    for _ in stars:
        t = C.POINTER(t)
    return t


def test_backends__ctypes_declarations_follow_the_header():
    cty = _backend.load("ctypes")
    header = _header_functions()
    assert "bt_metrics_snapshot" in header and "bt_timeline_export" in header
    declared = dict(cty._SIGNATURES, **cty._IO_SIGNATURES)
    for name, (restype, argtypes) in declared.items():
        assert name in header, f"{name} is not in bt.h"
        ret, params = header[name]
        want = [_ctypes_of(p, cty) for p in params]
        assert argtypes == want, f"{name}: declared {argtypes}, bt.h says {params}"
        assert restype is _ctypes_of(ret, cty), f"{name}: returns {ret}"
        lib = cty._io_lib if name in cty._IO_SIGNATURES else cty._lib
        fn = getattr(lib, name)
        assert fn.argtypes == want and fn.restype is restype  # what the loaded library got


def test_backends__header_parser_reads_the_declarations():
    # the parser the test above relies on, on declarations whose shape is known
    header = _header_functions()
    assert header["bt_snapshot_format"] == (
        "bt_status", ["char *", "size_t", "size_t *", "const bt_snapshot *"])
    assert header["bt_phase_get_info"] == ("bt_status", ["const char **", "int *", "bt_phase_id"])
    assert header["bt_version_string"] == ("const char *", [])
    assert header["bt_set_enabled"] == ("void", ["int"])
