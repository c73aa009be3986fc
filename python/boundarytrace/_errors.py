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

Every message reads ``"<STATUS_NAME>: <the library's sentence> (in <call>)"``,
e.g. ``"BT_E_PHASE_OPEN: a phase is already open on this tracer (in
bt_phase_begin)"``; what the binding knows beyond that (a value it refused, a
file and the system's reason) follows the call after a colon: ``"(in
bt_snapshot_write: /tmp/x.json: Permission denied)"`` (docs/api.md).

The statuses, their names and sentences come from the loaded library
(``bt_status_name`` / ``bt_status_str``, asked once per status by
:func:`library_statuses`), never from a second list here: this module only
says which class each status name raises. Both backends build their
exceptions with :func:`error_from_status`, so the native extension and the
ctypes backend raise exactly the same classes and messages.
"""

from __future__ import annotations

import errno as _errno
import os
import stat
from typing import Any, Callable, ClassVar, Dict, Optional, Tuple, Type, Union

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
    #: The status name this class is raised for ("" for the base class).
    _for_status: ClassVar[str] = ""

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

    _for_status = "BT_E_NULL"


class InvalidArgumentError(Error, ValueError):
    """``BT_E_INVALID``: an argument is out of range."""

    _for_status = "BT_E_INVALID"


class InvalidNameError(Error, ValueError):
    """``BT_E_NAME``: a name is empty, too long, not UTF-8, or has control characters."""

    _for_status = "BT_E_NAME"


class UnknownPhaseError(Error, ValueError):
    """``BT_E_UNKNOWN_PHASE``: no phase with that id is registered."""

    _for_status = "BT_E_UNKNOWN_PHASE"


class StructSizeError(Error, ValueError):
    """``BT_E_STRUCT_SIZE``: a result struct is smaller than its first version."""

    _for_status = "BT_E_STRUCT_SIZE"


class PhaseConflictError(Error, ValueError):
    """``BT_E_CONFLICT``: the phase name is registered with the other GIL state."""

    _for_status = "BT_E_CONFLICT"


class NotFoundError(Error, LookupError):
    """``BT_E_NOT_FOUND``: no such operation or phase name, or index out of range."""

    _for_status = "BT_E_NOT_FOUND"


class PhaseOpenError(Error, RuntimeError):
    """``BT_E_PHASE_OPEN``: a phase is already open on this tracer."""

    _for_status = "BT_E_PHASE_OPEN"


class PhaseNotOpenError(Error, RuntimeError):
    """``BT_E_PHASE_NOT_OPEN``: that phase is not the one open on this tracer."""

    _for_status = "BT_E_PHASE_NOT_OPEN"


class TracerFinishedError(Error, RuntimeError):
    """``BT_E_FINISHED``: the tracer has already finished."""

    _for_status = "BT_E_FINISHED"


class TableFullError(Error, RuntimeError):
    """``BT_E_FULL``: the phase table or the operation table is full."""

    _for_status = "BT_E_FULL"


class InternalError(Error, RuntimeError):
    """``BT_E_INTERNAL``: a bug in the library; please report it."""

    _for_status = "BT_E_INTERNAL"


class FileIOError(Error, OSError):
    """``BT_E_IO``: a file could not be written.

    Also an :class:`OSError` with the reason the system gave: ``.errno``
    (e.g. ``errno.ENOENT``), ``.strerror`` and ``.filename`` (the path that
    was to be written), as far as the library reported them. ``str(err)``
    ends with the call, the path and the system's reason: ``"(in
    bt_snapshot_write: /tmp/x.json: Permission denied)"``.
    """

    _for_status = "BT_E_IO"

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

    _for_status = "BT_E_NOMEM"


#: Status name -> exception class: each class says which status it is raised for.
_BY_NAME: Dict[str, Type[Error]] = {
    cls._for_status: cls
    for cls in (NullArgumentError, InvalidArgumentError, InvalidNameError, UnknownPhaseError,
                PhaseOpenError, PhaseNotOpenError, TracerFinishedError, StructSizeError,
                OutOfMemoryError, TableFullError, PhaseConflictError, NotFoundError,
                InternalError, FileIOError)
}

#: What bt_status_name() answers for a value it does not know.
UNKNOWN_STATUS_NAME = "BT_E_UNKNOWN_STATUS"
#: A bound on the walk below, should a library never answer UNKNOWN_STATUS_NAME.
_STATUS_WALK_LIMIT = 4096


def library_statuses(status_name: Callable[[int], str],
                     status_str: Callable[[int], str]) -> Dict[str, Tuple[int, str]]:
    """Every status the loaded library knows: name -> (value, sentence).

    Asks ``bt_status_name`` for 0, -1, -2, ... down to the first value it
    answers ``"BT_E_UNKNOWN_STATUS"`` for (values are pinned and dense, see
    BT_STATUS_MAP in bt.h), and ``bt_status_str`` for each sentence.
    """
    out: Dict[str, Tuple[int, str]] = {}
    for value in range(0, -_STATUS_WALK_LIMIT, -1):
        name = status_name(value)
        if name == UNKNOWN_STATUS_NAME:
            break
        out[name] = (value, status_str(value))
    return out


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

    The message reads ``"<NAME>: <sentence> (in <call>)"``, or
    ``"<NAME>: <sentence> (in <call>: <detail>)"`` with a detail; a file
    error's detail is ``"<path>: <strerror>"`` (followed by ``" (refused:
    not a regular file)"`` or ``" (refused: a symbolic link is not
    followed)"`` for a target the library refuses), and the exception
    carries ``errno``, ``strerror`` and ``filename`` as an OSError does.
    A shared directory refused with EACCES (bt_metrics_open_shared,
    bt_snapshot_read_shared, bt_timeline_export_shared) adds the rule it
    broke after a semicolon.
    """
    cls = error_class(status_name)
    if cls is FileIOError and (errno or filename is not None):
        name = os.fsdecode(filename) if filename is not None else None
        reason = os.strerror(errno) if errno else "unknown reason"
        refused = _refusal(name, errno)
        if refused:
            reason = f"{reason} (refused: {refused})"
        io_detail = f"{name}: {reason}" if name is not None else reason
        detail = f"{detail}; {io_detail}" if detail else io_detail
        unsafe = _shared_dir_refusal(call, name, errno)
        if unsafe:
            detail = f"{detail}; {unsafe}"
        return FileIOError(_message(status_name, text, call, detail), status, status_name, call,
                           errno or None, name)
    return cls(_message(status_name, text, call, detail), status, status_name, call)


def _refusal(name: Optional[str], err: Optional[int]) -> Optional[str]:
    """Why the library refused to write `name`, when it did, else None.

    A target that is a symbolic link or not a regular file is refused with
    ELOOP or EINVAL (bt.h, bt_snapshot_write), whose sentences alone ("Invalid
    argument") do not say it. Those errnos have other, rare causes, so the
    target is looked at before the message says so.
    """
    if name is None or err not in (_errno.ELOOP, _errno.EINVAL):
        return None
    try:
        mode = os.lstat(name).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link is not followed" if err == _errno.ELOOP else None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or err != _errno.EINVAL:
        return None
    return "not a regular file"


#: The calls that open a shared directory, which refuse one that is not safe
#: (bt.h: EACCES).
_SHARED_DIR_CALLS = ("bt_metrics_open_shared", "bt_snapshot_read_shared",
                     "bt_timeline_export_shared")
_SHARED_DIR_RULE = "a shared directory must be your own and not writable by group or others"


def _shared_dir_refusal(call: str, name: Optional[str], err: Optional[int]) -> Optional[str]:
    """The rule a shared directory refused with EACCES broke, and how, else None.

    The library refuses a directory that group or others may write into,
    or (to write into it) one of another user: EACCES, whose sentence
    ("Permission denied") reads like a missing permission. The directory is
    looked at to say which; EACCES for an ordinary reason (a parent that
    may not be written) gets no rule.
    """
    if name is None or err != _errno.EACCES or call not in _SHARED_DIR_CALLS:
        return None
    try:
        st = os.stat(name)
    except OSError:
        return None  # mkdir was refused: the system's reason says it all
    if not stat.S_ISDIR(st.st_mode):
        return None
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{_SHARED_DIR_RULE}, and this one is mode {stat.S_IMODE(st.st_mode):04o}"
    if call == "bt_metrics_open_shared" and st.st_uid != os.geteuid():
        return f"{_SHARED_DIR_RULE}, and this one belongs to user id {st.st_uid}"
    if call == "bt_metrics_open_shared":
        return f"{_SHARED_DIR_RULE}, writable by you, and its files must be yours too"
    return None


def _message(status_name: str, text: str, call: str, detail: Optional[str]) -> str:
    where = f"{call}: {detail}" if detail else call
    return f"{status_name}: {text} (in {where})"
