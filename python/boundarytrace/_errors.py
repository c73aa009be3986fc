"""Exceptions: one class per bt_status, named after it.

Every failed library call raises a subclass of :class:`Error` that carries the
status (``.status``, e.g. ``-5``), its name (``.status_name``, e.g.
``"BT_E_PHASE_OPEN"``) and the call that failed (``.call``). The classes also
derive from the built-in exception that says what kind of mistake it was:

* bad arguments derive from :class:`ValueError` (or :class:`LookupError` for a
  name that is not there), so ``except ValueError`` catches a bad name;
* wrong state (a phase already open, a finished tracer, a full table) derives
  from :class:`RuntimeError`;
* ``BT_E_NOMEM`` derives from :class:`MemoryError`, ``BT_E_IO`` from
  :class:`OSError`.

Wrong Python types (a phase given as a float, a name given as bytes) raise
:class:`TypeError`, as everywhere in Python.

Both backends build their exceptions with :func:`error_from_status`, so the
native extension and the ctypes backend raise exactly the same classes and
messages.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple, Type, Union

__all__ = [
    "Error",
    "NullArgumentError",
    "InvalidArgumentError",
    "InvalidNameError",
    "UnknownPhaseError",
    "PhaseOpenError",
    "PhaseNotOpenError",
    "TracerFinishedError",
    "StructSizeError",
    "OutOfMemoryError",
    "TableFullError",
    "PhaseConflictError",
    "NotFoundError",
    "InternalError",
    "FileIOError",
]


class Error(Exception):
    """Base class of every exception boundarytrace raises for a failed call.

    Attributes:
        status: the negative ``bt_status`` value the library returned.
        status_name: its name, e.g. ``"BT_E_NAME"`` (``bt_status_name``).
        call: the C function (or Python method) that failed.
    """

    status: int
    status_name: str
    call: str

    def __init__(self, message: str, status: int = 0, status_name: str = "",
                 call: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.status_name = status_name
        self.call = call

    def __reduce__(self) -> Tuple[Type["Error"], Tuple[str, int, str, str]]:
        # keep the attributes across pickling
        return (type(self), (self.args[0] if self.args else "", self.status,
                             self.status_name, self.call))


class NullArgumentError(Error, ValueError):
    """``BT_E_NULL``: a required handle or pointer is missing (or was closed)."""


class InvalidArgumentError(Error, ValueError):
    """``BT_E_INVALID``: an argument is out of range."""


class InvalidNameError(Error, ValueError):
    """``BT_E_NAME``: a name is empty, too long, not UTF-8, or has control characters."""


class UnknownPhaseError(Error, ValueError):
    """``BT_E_UNKNOWN_PHASE``: no phase with that id is registered."""


class StructSizeError(Error, ValueError):
    """``BT_E_STRUCT_SIZE``: a result struct is smaller than its first version."""


class PhaseConflictError(Error, ValueError):
    """``BT_E_CONFLICT``: the phase name is registered with the other GIL state."""


class NotFoundError(Error, LookupError):
    """``BT_E_NOT_FOUND``: no such operation or phase name, or index out of range."""


class PhaseOpenError(Error, RuntimeError):
    """``BT_E_PHASE_OPEN``: a phase is already open on this tracer."""


class PhaseNotOpenError(Error, RuntimeError):
    """``BT_E_PHASE_NOT_OPEN``: that phase is not the one open on this tracer."""


class TracerFinishedError(Error, RuntimeError):
    """``BT_E_FINISHED``: the tracer has already finished."""


class TableFullError(Error, RuntimeError):
    """``BT_E_FULL``: the phase table or the operation table is full."""


class InternalError(Error, RuntimeError):
    """``BT_E_INTERNAL``: a bug in the library; please report it."""


class FileIOError(Error, OSError):
    """``BT_E_IO``: a file could not be written.

    Also an :class:`OSError` with the reason the system gave: ``.errno``
    (e.g. ``errno.ENOENT``), ``.strerror`` and ``.filename`` (the path that
    was to be written), as far as the library reported them. ``str(err)`` is
    the library's message followed by the path and the system's reason.
    """

    def __init__(self, message: str, status: int = 0, status_name: str = "", call: str = "",
                 errno: Optional[int] = None, filename: Optional[str] = None) -> None:
        super().__init__(message, status, status_name, call)
        if errno:
            self.errno = errno
            self.strerror = os.strerror(errno)
        if filename is not None:
            self.filename = filename

    def __str__(self) -> str:
        # OSError would print "[Errno n] ..." alone; keep the whole message.
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> Tuple[Type["Error"], Tuple[Any, ...]]:  # type: ignore[override]
        return (type(self), (self.args[0] if self.args else "", self.status, self.status_name,
                             self.call, self.errno, self.filename))


class OutOfMemoryError(Error, MemoryError):
    """``BT_E_NOMEM``: the library could not allocate memory."""


#: Status name -> exception class. The names come from the library's own
#: status list (BT_STATUS_MAP in bt.h) through bt_status_name().
_BY_NAME: Dict[str, Type[Error]] = {
    "BT_E_NULL": NullArgumentError,
    "BT_E_INVALID": InvalidArgumentError,
    "BT_E_NAME": InvalidNameError,
    "BT_E_UNKNOWN_PHASE": UnknownPhaseError,
    "BT_E_PHASE_OPEN": PhaseOpenError,
    "BT_E_PHASE_NOT_OPEN": PhaseNotOpenError,
    "BT_E_FINISHED": TracerFinishedError,
    "BT_E_STRUCT_SIZE": StructSizeError,
    "BT_E_NOMEM": OutOfMemoryError,
    "BT_E_FULL": TableFullError,
    "BT_E_CONFLICT": PhaseConflictError,
    "BT_E_NOT_FOUND": NotFoundError,
    "BT_E_INTERNAL": InternalError,
    "BT_E_IO": FileIOError,
}

#: The values pinned in bt.h, for errors raised before the library is asked.
STATUS_VALUES: Dict[str, int] = {
    "BT_E_NULL": -1,
    "BT_E_INVALID": -2,
    "BT_E_NAME": -3,
    "BT_E_UNKNOWN_PHASE": -4,
    "BT_E_PHASE_OPEN": -5,
    "BT_E_PHASE_NOT_OPEN": -6,
    "BT_E_FINISHED": -7,
    "BT_E_STRUCT_SIZE": -8,
    "BT_E_NOMEM": -9,
    "BT_E_FULL": -10,
    "BT_E_CONFLICT": -11,
    "BT_E_NOT_FOUND": -12,
    "BT_E_INTERNAL": -13,
    "BT_E_IO": -14,
}


def error_class(status_name: str) -> Type[Error]:
    """The exception class for a status name (``Error`` for unknown names)."""
    return _BY_NAME.get(status_name, Error)


def error_from_status(status: int, call: str, status_name: str, text: str,
                      detail: Optional[str] = None, errno: Optional[int] = None,
                      filename: Union[str, bytes, None] = None) -> Error:
    """Builds the exception for a failed call.

    Args:
        status: the bt_status the call returned.
        call: the function that failed, e.g. ``"bt_phase_begin"``.
        status_name: ``bt_status_name(status)``.
        text: ``bt_status_str(status)``.
        detail: more context (which phase, which name), or None.
        errno: for ``BT_E_IO``, the ``errno`` the call left (0/None: unknown).
        filename: for ``BT_E_IO``, the path that was to be written.

    The message reads ``"<call>: <NAME>: <sentence>"`` plus ``" (<detail>)"``;
    a file error adds ``" (<path>: <strerror>)"`` and carries ``errno``,
    ``strerror`` and ``filename`` as an OSError does.
    """
    message = f"{call}: {status_name}: {text}"
    cls = error_class(status_name)
    if cls is FileIOError and (errno or filename is not None):
        name = os.fsdecode(filename) if filename is not None else None
        reason = os.strerror(errno) if errno else "unknown reason"
        io_detail = f"{name}: {reason}" if name is not None else reason
        detail = f"{detail}; {io_detail}" if detail else io_detail
        message += f" ({detail})"
        return FileIOError(message, status, status_name, call, errno or None, name)
    if detail:
        message += f" ({detail})"
    return cls(message, status, status_name, call)
