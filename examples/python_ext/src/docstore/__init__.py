"""docstore: a small document store, traced with boundarytrace.

``Client(host, port)`` is a pybind11 extension whose ``insert_many`` and
``find`` run the four traced phases (extract, convert, network, materialize);
``start_server()`` runs the bundled ``docstore-server`` on a free loopback
port for as long as the returned ``Server`` is open::

    import boundarytrace, docstore

    with docstore.start_server() as server:
        client = docstore.Client(server.host, server.port)
        client.insert_many([{"name": "ada", "n": 1}])
        print(client.find({"name": "ada"}))
    print(boundarytrace.snapshot().format())
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# boundarytrace first: it loads libboundarytrace.so.1, which the extension then
# shares, so what the extension records shows up in boundarytrace.snapshot().
import boundarytrace  # noqa: F401

from ._docstore import Client

__all__ = ["Client", "Server", "start_server", "server_executable"]


def server_executable() -> Path:
    """Path of the bundled ``docstore-server`` program."""
    return Path(__file__).parent / "docstore-server"


class Server:
    """A running ``docstore-server`` child process listening on ``host:port``.

    The server exits when ``stop()`` closes its stdin (also when this process
    dies), so it never outlives its parent. Use it as a context manager.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0):
        exe = server_executable()
        if not os.access(exe, os.X_OK):
            raise FileNotFoundError(f"docstore-server is missing or not executable: {exe}")
        self.host = host
        self._proc = subprocess.Popen(
            [str(exe), "--host", host, "--port", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._proc.stdout.readline()  # "PORT <n>" once it listens
        if not line.startswith("PORT "):
            self.stop(timeout)
            raise RuntimeError(f"docstore-server did not start (said {line!r})")
        self.port = int(line.split()[1])

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server (closes its stdin, then kills it if it lingers)."""
        proc = self._proc
        if proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(host: str = "127.0.0.1", port: int = 0) -> Server:
    """Starts ``docstore-server`` on ``host:port`` (0: a free port) and returns it."""
    return Server(host, port)
