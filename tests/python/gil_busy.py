"""A Python thread that keeps the GIL busy, for the tests of the GIL helpers
(pybind11, the CPython C API, Cython): while it runs, taking the GIL back
after a released phase has to wait."""
import threading


class Busy:
    """A Python thread spinning in a pure-Python loop: it holds the GIL whenever
    it can, and calls ext.tick() (which needs the GIL) on every round."""

    def __init__(self, ext) -> None:
        self._ext = ext
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        tick = self._ext.tick
        self._started.set()
        n = 0
        while not self._stop.is_set():
            tick()
            for _ in range(100):
                n += 1

    def __enter__(self) -> "Busy":
        self._thread.start()
        self._started.wait()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
