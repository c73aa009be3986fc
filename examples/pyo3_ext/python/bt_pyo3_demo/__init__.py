"""bt_pyo3_demo: a PyO3 extension traced with boundarytrace.

``Client().insert_many(docs)`` reads the dicts (extract, GIL held), encodes
them (convert, GIL released), sends them to a loopback TCP echo server and
reads the reply (network, GIL released), and builds the list of ids
(materialize, GIL held). Each call is recorded as ``pyo3_insert_many`` in
the process-wide sink, so it shows up in ``boundarytrace.snapshot()``::

    import bt_pyo3_demo, boundarytrace

    client = bt_pyo3_demo.Client()
    client.insert_many([{"_id": 1, "name": "ada"}])      # -> [1]
    print(boundarytrace.snapshot()["pyo3_insert_many"].count)
"""

# boundarytrace first: it loads libboundarytrace.so.1, and the extension's own
# reference to that SONAME then resolves to the loaded copy (glibc reuses a
# loaded SONAME): one library, one registry.
import boundarytrace  # noqa: F401

from ._native import OPERATION, Client, build_info

__all__ = ["Client", "OPERATION", "build_info"]
