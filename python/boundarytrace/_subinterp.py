"""boundarytrace runs in the main interpreter only.

Imported first by the package's ``__init__``, before either backend is
touched: in any other interpreter (a subinterpreter made with
``_interpreters`` / ``_xxsubinterpreters``, ``concurrent.interpreters``, or
``Py_NewInterpreter`` by an embedder; isolated or legacy) ``import
boundarytrace`` raises ImportError with the reason, instead of what the
backends would do there (seen with pybind11 3.1):

* the pybind11 extension: on 3.11 and older its init blocks for ever in
  ``PyGILState_Ensure`` (the GILState API knows one interpreter per
  thread), isolated or legacy. It declares
  ``Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED``, so on 3.12+ CPython refuses
  it in isolated subinterpreters with its own ImportError, and loads it in
  legacy ones only for backward compatibility;
* the ctypes backend: in an isolated subinterpreter an unrelated error
  (3.11: ``RuntimeError: subprocess not supported for isolated
  subinterpreters``; 3.12: ``_ctypes`` refused); elsewhere it would run.
* either way the package's state is one per process (the library's
  registry, the environment's exit dump, /metrics endpoint and OTLP
  exporter), which a second interpreter would start twice over.

Which interpreter runs is asked of CPython's own module for interpreters,
``_interpreters`` (3.13+) or ``_xxsubinterpreters`` (3.8–3.12): interpreter
ids, the main one is ``get_main()``. A Python built without either cannot
create subinterpreters from Python code; an embedder's subinterpreter there
is not detected (the pybind11 extension's slot still makes 3.12+ refuse
isolated ones).
"""

from typing import Optional, Tuple

MESSAGE = ("boundarytrace does not support subinterpreters: import it in the main interpreter "
           "(this is interpreter {current}, the main one is {main}). Its tracing state is "
           "process-wide and its native extension cannot initialise in a second interpreter.")


def _id(value: object) -> int:
    # 3.13+: (id, whence); older: an InterpreterID, which int() takes
    if isinstance(value, tuple):
        value = value[0]
    return int(value)  # type: ignore[call-overload]


def interpreter_ids() -> Optional[Tuple[int, int]]:
    """(current, main) interpreter ids, or None when this Python cannot tell."""
    try:
        import _interpreters as interp  # type: ignore[import-not-found]  # 3.13+
    except ImportError:
        try:
            import _xxsubinterpreters as interp  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return None
    return _id(interp.get_current()), _id(interp.get_main())


def in_main_interpreter() -> bool:
    """True in the main interpreter (or when this Python cannot tell)."""
    ids = interpreter_ids()
    return ids is None or ids[0] == ids[1]


def check() -> None:
    """Raises ImportError (with the reason) unless this is the main interpreter."""
    ids = interpreter_ids()
    if ids is not None and ids[0] != ids[1]:
        raise ImportError(MESSAGE.format(current=ids[0], main=ids[1]), name="boundarytrace")
