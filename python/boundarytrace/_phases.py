"""Phases: the process-wide phase table, and the one resolver of phase arguments.

A phase argument may be an id (``int``), a name (``str``) or a :class:`Phase`
(an ``int`` that also knows its name and GIL state). Names are looked up in the
library once and cached: phase ids never change for the life of the process.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

from ._backend import raise_status, state
from ._errors import NotFoundError

__all__ = ["Phase", "EXTRACT", "CONVERT", "NETWORK", "MATERIALIZE", "TOTAL", "GIL_WAIT", "register_phase",
           "lookup_phase", "phases", "PhaseArg"]

_INT32_MIN = -(2 ** 31)
_INT32_MAX = 2 ** 31 - 1


class Phase(int):
    """A phase id that also carries the phase's name and GIL state.

    A ``Phase`` is an ``int`` (its id), so it goes wherever an id goes:
    ``t.phase(boundarytrace.CONVERT)``, ``op.phase(p)``. Built-in phases are
    :data:`EXTRACT`, :data:`CONVERT`, :data:`NETWORK`, :data:`MATERIALIZE`;
    :data:`TOTAL` stands for the whole operation in snapshot queries.
    :func:`register_phase` returns new ones.

    Attributes:
        id: the phase id (same as ``int(phase)``).
        name: the phase name.
        gil_held: True if the GIL is held during the phase, False if
            released, None for :data:`TOTAL`.
    """

    name: str
    gil_held: Optional[bool]

    def __new__(cls, id: int, name: str, gil_held: Optional[bool]) -> "Phase":
        obj = super().__new__(cls, id)
        obj.name = name
        obj.gil_held = gil_held
        return obj

    @property
    def id(self) -> int:
        """The phase id as a plain int."""
        return int(self)

    def __repr__(self) -> str:
        return f"Phase({int(self)}, {self.name!r}, gil_held={self.gil_held!r})"

    def __reduce__(self) -> Tuple[type, Tuple[int, str, Optional[bool]]]:
        return (Phase, (int(self), self.name, self.gil_held))


#: Built-in phase 0: read interpreter objects into a native form; GIL held.
EXTRACT = Phase(0, "extract", True)
#: Built-in phase 1: encode the native form (e.g. BSON); GIL released.
CONVERT = Phase(1, "convert", False)
#: Built-in phase 2: I/O with a server; GIL released.
NETWORK = Phase(2, "network", False)
#: Built-in phase 3: build interpreter objects from the results; GIL held.
MATERIALIZE = Phase(3, "materialize", True)
#: Pseudo-phase for snapshot queries: the whole operation (BT_PHASE_TOTAL).
TOTAL = Phase(-1, "total", None)
#: Pseudo-phase for snapshot queries: the wait to get the GIL back, one
#: sample per operation that released it (BT_PHASE_GIL_WAIT).
GIL_WAIT = Phase(-2, "GIL wait", None)

PhaseArg = Union[int, str, Phase]

#: name -> id of every phase name seen (ids are stable for the process).
_ids: Dict[str, int] = {}
#: id -> Phase of every id described so far.
_described: Dict[int, Phase] = {}


def encode_name(name: object, call: str, what: str = "name") -> bytes:
    """A name as the library wants it: UTF-8 bytes, checked for type and NUL.

    Lone surrogates are passed through (``surrogatepass``) so that the library
    itself rejects the invalid UTF-8 with BT_E_NAME, as it would from C.
    """
    if not isinstance(name, str):
        raise TypeError(f"{call}: {what} must be a str, not {type(name).__name__}")
    data = name.encode("utf-8", "surrogatepass")
    if b"\0" in data:
        raise_status("BT_E_NAME", call, f"{what} {name!r} contains a NUL character")
    return data


def _by_name(name: str, call: str) -> int:
    pid = _ids.get(name)
    if pid is None:
        data = encode_name(name, call, "phase name")
        try:
            pid = state.b.phase_lookup(data)
        except NotFoundError:
            # The library's sentence is about operations and indexes too: say which.
            raise_status("BT_E_NOT_FOUND", call, f"no phase named {name!r} is registered; register_phase() adds one")
        _ids[name] = pid
    return pid


def _phase_id(phase: object, call: str) -> int:
    """The id of a phase argument (int, str or Phase).

    Unregistered ids are passed on (the library answers BT_E_UNKNOWN_PHASE);
    ids that do not fit in an int32 raise UnknownPhaseError here; unknown names
    raise NotFoundError; other types raise TypeError.
    """
    tp = type(phase)
    if tp is int or tp is Phase:
        if _INT32_MIN <= phase <= _INT32_MAX:  # type: ignore[operator]
            return phase  # type: ignore[return-value]
        raise_status("BT_E_UNKNOWN_PHASE", call, f"phase id {int(phase)} is out of range")  # type: ignore[call-overload]
    if tp is str:
        pid = _ids.get(phase)  # type: ignore[call-overload]
        return pid if pid is not None else _by_name(phase, call)  # type: ignore[arg-type]
    if isinstance(phase, bool) or not isinstance(phase, (int, str)):
        raise TypeError(f"{call}: a phase is an int id, a str name or a boundarytrace.Phase, "
                        f"not {type(phase).__name__}")
    return _phase_id(int(phase) if isinstance(phase, int) else str(phase), call)


def describe(pid: int) -> Phase:
    """The Phase of registered id ``pid`` (UnknownPhaseError otherwise)."""
    ph = _described.get(pid)
    if ph is None:
        if pid == -1:
            return TOTAL
        if pid == -2:
            return GIL_WAIT
        name, held = state.b.phase_info(pid)
        ph = Phase(pid, name, held)
        _described[pid] = ph
        _ids.setdefault(name, pid)
    return ph


def register_phase(name: str, gil_held: bool) -> Phase:
    """Registers a phase of your own, or finds it if ``name`` is registered.

    Args:
        name: 1..255 bytes of UTF-8 without control characters.
        gil_held: True if the GIL is held during the phase, False if your
            code releases it; it decides whether the phase's time counts as
            GIL held or GIL released.

    Returns:
        The Phase (its id is stable for the life of the process).

    Raises:
        InvalidNameError: a bad name. PhaseConflictError: the name is
        registered with the other GIL state. TableFullError: all
        ``BT_MAX_PHASES`` (32) phases are taken. TypeError: wrong types.
    """
    data = encode_name(name, "register_phase", "phase name")
    if not isinstance(gil_held, (bool, int)):
        raise TypeError(f"register_phase: gil_held must be a bool, not {type(gil_held).__name__}")
    pid = state.b.phase_register(data, bool(gil_held))
    _ids[name] = pid
    return describe(pid)


def lookup_phase(phase: PhaseArg) -> Phase:
    """The registered phase with this name or id.

    Raises NotFoundError for an unknown name, UnknownPhaseError for an
    unknown id, TypeError for other types.
    """
    return describe(_phase_id(phase, "lookup_phase"))


def phases() -> List[Phase]:
    """Every registered phase, by id (the four built-in ones first)."""
    return [describe(pid) for pid in range(state.b.phase_count())]


def clear_caches() -> None:
    """Forgets cached lookups (after the backend changed)."""
    _ids.clear()
    _described.clear()
