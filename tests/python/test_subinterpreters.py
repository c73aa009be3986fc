"""Subinterpreters: boundarytrace supports only the main interpreter.

Importing it in any other interpreter raises a clear ImportError, on either
backend, in every kind of subinterpreter the running Python can create
(isolated: own GIL, or shared GIL with the strict extension check; legacy:
shared GIL, as Py_NewInterpreter gives an embedder), whether or not the main
interpreter imported it first — and never hangs (pybind11's module init used
to block in PyGILState_Ensure there). The main interpreter is unaffected.

Each case runs in a child process of this interpreter, with a timeout, so a
hang fails the test instead of blocking the suite. Subinterpreters are made
with the interpreter's own private module: ``_xxsubinterpreters`` (3.8–3.12,
``create(isolated=...)``) or ``_interpreters`` (3.13+, ``create("isolated")``
/ ``create("legacy")``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import pytest

#: Seconds a child may take; a hang in a subinterpreter fails after this.
TIMEOUT = int(os.environ.get("BT_SUBINTERP_TIMEOUT", "60"))

CHILD = textwrap.dedent('''
    import sys
    KIND, ORDER = sys.argv[1], sys.argv[2]
    try:
        import _interpreters as interp          # 3.13+
        def create():
            return interp.create("isolated" if KIND == "isolated" else "legacy")
    except ImportError:
        import _xxsubinterpreters as interp     # 3.8-3.12
        def create():
            return interp.create(isolated=(KIND == "isolated"))

    def main_uses_boundarytrace(tag):
        import boundarytrace as bt
        with bt.trace("subinterp." + tag) as t:
            with t.phase(bt.EXTRACT):
                pass
        op = bt.snapshot().get("subinterp." + tag)
        print("MAIN", repr({"backend": bt.backend, "count": op.count if op else 0}), flush=True)

    CODE = """
    try:
        import boundarytrace
        r = {"imported": True, "backend": boundarytrace.backend}
    except BaseException as e:
        r = {"imported": False, "type": type(e).__name__, "msg": str(e)}
    print("SUB", repr(r), flush=True)
    """

    if ORDER == "main_first":
        main_uses_boundarytrace("before")
    sub = create()
    try:
        failure = interp.run_string(sub, CODE)  # 3.13 returns a failure, older ones raise
        if failure is not None:
            print("RUN", repr(str(failure)), flush=True)
    finally:
        interp.destroy(sub)
    main_uses_boundarytrace("after")
''')


def _run_child(kind: str, order: str, backend: str) -> dict:
    env = dict(os.environ, BOUNDARYTRACE_BACKEND=backend)
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, kind, order], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"importing boundarytrace in a {kind} subinterpreter hung "
                    f"(no exit within {TIMEOUT} s); output so far:\n{out}")
    assert proc.returncode == 0, proc.stdout
    lines = {}
    for line in proc.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in ("SUB", "MAIN", "RUN"):
            lines.setdefault(tag, []).append(ast.literal_eval(rest))
    assert "SUB" in lines, proc.stdout
    return lines


@pytest.mark.parametrize("order", ["sub_first", "main_first"])
@pytest.mark.parametrize("kind", ["isolated", "legacy"])
def test_subinterpreters__import_raises_a_clear_import_error(backend, kind, order):
    lines = _run_child(kind, order, backend)
    (sub,) = lines["SUB"]
    assert sub["imported"] is False, sub
    assert sub["type"] == "ImportError", sub
    assert "does not support subinterpreters" in sub["msg"], sub
    assert "main interpreter" in sub["msg"], sub
    # the main interpreter is unaffected, before and after
    mains = lines["MAIN"]
    assert len(mains) == (2 if order == "main_first" else 1)
    for m in mains:
        assert m == {"backend": backend, "count": 1}


def test_subinterpreters__main_interpreter_check_passes_here():
    # The suite's own interpreter is the main one: the check lets it through.
    import boundarytrace
    from boundarytrace import _subinterp
    assert _subinterp.in_main_interpreter() is True
    assert boundarytrace.backend in ("native", "ctypes")
