#!/usr/bin/env python3
"""boundarytrace demo: where does the time go in a pybind11 extension?

Starts the bundled docstore-server, then, while one Python thread spins in a
busy loop competing for the GIL, several Python threads share one
docstore.Client and insert batches of 1, 100 and 1,000 documents and read them
back with find(). Every call runs the four traced phases (extract with the GIL,
convert and network without it, materialize with it). At the end it prints the
per-operation report of boundarytrace.snapshot() and writes it as JSON.

    python examples/python_ext/demo.py [--small] [--threads N] [--json PATH]

Needs the boundarytrace package and this example installed into the same
interpreter (see README.md here). Exits non-zero if the store returns wrong data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import boundarytrace  # first: the library the extension shares
import docstore
from docstore import _docstore

# (documents per batch, batches per thread) for each batch size.
FULL_PLAN = [(1, 60), (100, 20), (1000, 4)]
SMALL_PLAN = [(1, 5), (10, 3), (300, 1)]  # 300 >= 256: the convert phase goes parallel


def make_batch(thread: int, size: int, rep: int) -> list[dict]:
    batch = f"t{thread}-s{size}-r{rep}"
    return [
        {
            "batch": batch,
            "thread": thread,
            "seq": i,
            "name": f"user-{thread}-{rep}-{i}",
            "score": i * 0.5,
            "active": i % 3 != 0,
            "tags": ["demo", f"size-{size}", i % 7],
            "address": {"city": "Lyon" if i % 2 else "Porto", "zip": 69000 + i % 100},
            "payload": bytes(16),
        }
        for i in range(size)
    ]


class Busy(threading.Thread):
    """A pure-Python loop that holds the GIL whenever it can."""

    def __init__(self) -> None:
        super().__init__(name="busy", daemon=True)
        self.stop = threading.Event()
        self.started = threading.Event()
        self.loops = 0

    def run(self) -> None:
        self.started.set()
        n = 0
        stop = self.stop
        while not stop.is_set():
            for _ in range(1000):
                n += 1
        self.loops = n


def worker(client, thread: int, plan, batches: dict, errors: list) -> None:
    try:
        mine = [(size, rep, make_batch(thread, size, rep)) for size, reps in plan for rep in range(reps)]
        for size, rep, docs in mine:
            if client.insert_many(docs) != len(docs):
                raise AssertionError(f"insert_many stored a wrong count for {size} docs")
        for size, rep, docs in mine:
            got = client.find({"batch": docs[0]["batch"]})
            if sorted(got, key=lambda d: d["seq"]) != docs:
                raise AssertionError(f"find returned wrong documents for batch {docs[0]['batch']}")
            one = client.find({"batch": docs[0]["batch"], "seq": len(docs) - 1})
            if one != [docs[-1]]:
                raise AssertionError("find by two fields returned wrong documents")
        batches[thread] = len(mine)
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="small batches (1, 10, 300 docs): a quick smoke run")
    ap.add_argument("--threads", type=int, default=4, help="Python threads calling the client (default 4)")
    ap.add_argument("--no-busy", action="store_true", help="no busy thread competing for the GIL")
    ap.add_argument("--json", default=os.path.join("build", "demo-snapshot.json"),
                    help="where to write the snapshot as JSON (default build/demo-snapshot.json)")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error("--threads must be at least 1")
    plan = SMALL_PLAN if args.small else FULL_PLAN

    print(f"boundarytrace {boundarytrace.__version__} ({boundarytrace.backend} backend); "
          f"{args.threads} client threads + {0 if args.no_busy else 1} busy thread; batches "
          + ", ".join(f"{n} x {size} docs" for size, n in plan) + " per thread", flush=True)

    errors: list = []
    batches: dict = {}
    busy = Busy()
    t0 = time.perf_counter()
    with docstore.start_server() as server:
        client = docstore.Client(server.host, server.port)
        if not args.no_busy:
            busy.start()
            busy.started.wait()
        threads = [
            threading.Thread(target=worker, args=(client, k, plan, batches, errors), name=f"client-{k}")
            for k in range(args.threads)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not args.no_busy:
            busy.stop.set()
            busy.join()
    elapsed = time.perf_counter() - t0
    if errors:
        print(f"demo failed: {errors[0]!r}", file=sys.stderr)
        return 1

    snap = boundarytrace.snapshot()
    print(f"\n{sum(batches.values())} batches inserted and read back in {elapsed:.2f} s"
          + ("" if args.no_busy else f"; the busy thread ran {busy.loops:,} loop iterations meanwhile")
          + "\n")
    print(snap.format())

    data = snap.to_dict()
    ops = data["ops"]
    interval_ms = sys.getswitchinterval() * 1e3
    print("Reading it:")
    for name in ("insert_many", "find"):
        op = ops.get(name)
        if not op or not op["gil_releases"]:
            continue
        print(f"  {name}: GIL wait {100.0 * op['gil_wait_ns'] / op['total_ns']:.0f}% of the time, "
              f"{op['gil_wait_ns'] / op['gil_releases'] / 1e6:.2f} ms per release "
              f"(switch interval {interval_ms:g} ms); GIL held "
              f"{100.0 * op['gil_held_ns'] / op['total_ns']:.1f}%")
    insert = ops.get("insert_many")
    if insert and insert["count"]:
        cost = _docstore.tracing_cost_ns()
        fastest = insert["total"]["min_ns"]
        mean = insert["total_ns"] / insert["count"]
        print(f"  tracing: {cost:.0f} ns of boundarytrace calls per operation = "
              f"{100.0 * cost / fastest:.2f}% of the fastest insert_many ({fastest / 1e3:.1f} µs), "
              f"{100.0 * cost / mean:.3f}% of the mean ({mean / 1e3:.1f} µs)")

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    print(f"snapshot written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
