"""Instruction counts of stretches of a Python run, under callgrind.

bench/python/run builds cg_marks.c into a shared object and runs a benchmark
script under ``valgrind --tool=callgrind --callgrind-out-file=PREFIX``; the
script brackets each stretch with :meth:`Marks.zero` and :meth:`Marks.dump`,
which return the instructions (Ir) executed since, all threads of the process
included (child processes, e.g. the docstore server, are not traced).
"""

from __future__ import annotations

import ctypes
from pathlib import Path


class Marks:
    def __init__(self, lib: str, prefix: str) -> None:
        self._lib = ctypes.CDLL(lib)
        self._lib.cgm_dump.argtypes = [ctypes.c_char_p]
        self._lib.cgm_dump.restype = None
        self._lib.cgm_zero.restype = None
        if not self._lib.cgm_running():
            raise RuntimeError("cgmarks: not running under valgrind")
        self._prefix = prefix
        self._dumps = 0

    def zero(self) -> None:
        self._lib.cgm_zero()

    def dump(self, label: str) -> int:
        """Dumps the counters (and zeroes them); returns the instructions counted."""
        self._lib.cgm_dump(label.encode())
        self._dumps += 1
        text = Path("%s.%d" % (self._prefix, self._dumps)).read_text()
        for line in text.splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
        raise RuntimeError("cgmarks: no summary in %s.%d" % (self._prefix, self._dumps))
