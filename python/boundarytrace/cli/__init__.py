"""The ``boundarytrace`` command: report, diff and check snapshot JSON files;
trace and serve a shared directory.

::

    boundarytrace report SNAPSHOT.json [--html OUT.html]
    boundarytrace diff BASE.json NEW.json [--max-regress 10%] [--min-count N]
    boundarytrace check SNAPSHOT.json [--budget BUDGET.toml] [--strict]
    boundarytrace trace DIR --pid PID [-o FILE]
    boundarytrace serve [DIR] [--listen [HOST:]PORT]

Also ``python -m boundarytrace`` (or ``python -m boundarytrace.cli``), and
:func:`main` from Python. The commands read files that
``Snapshot.write("x.json")``, ``bt_snapshot_write`` or
``BOUNDARYTRACE_DUMP=x.json`` wrote (schema ``boundarytrace.snapshot``,
version 1), with the standard library only: no live library is asked, so a
snapshot from any process or machine can be read. Wherever a snapshot file
is taken, a shared directory (``BOUNDARYTRACE_SHARED_DIR``,
``Metrics.open_shared``) may be given instead: the library merges every
process's figures there (``read_shared``), and each file the merge left out
is named on standard error (``boundarytrace: skipped PATH: REASON``).
``trace`` writes the flight recorder a process kept in a shared directory
(``timeline_export_shared``) as Chrome Trace Event JSON; ``serve`` is a
``/metrics`` sidecar for a shared directory, merged at each scrape, running
until SIGTERM or SIGINT.

Exit codes: 0 fine; 1 a gate failed (``diff``: a p50 or p99 regressed past
the threshold; ``check``: a rule failed); 2 bad input (a missing or unreadable
file, another schema, a file nested too deeply, a bad budget or threshold, no
recorder of that pid, an address that cannot be served, a usage error), with
the reason on standard error in one line. docs/cli.md is
the manual.

The modules beside this one are the tool's own: reading snapshot files
(``_snapshot_file``), budgets (``_budget``, with ``default_budget.toml``), the
HTML page (``_html_report``) and units (``_units``).
"""

from ._commands import build_parser, main, render_diff, render_report

__all__ = ["main", "build_parser", "render_report", "render_diff"]
