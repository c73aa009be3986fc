"""``boundarytrace report --html``: the page renders in a real browser.

The page is rendered by headless Chromium (Debian ``chromium``, installed by
scripts/lib/deps.d/cli.sh). Its inline script measures every chart once laid
out and writes a summary into ``#bt-render-check``, read back here with
``--dump-dom``: the number of bars per chart must match the snapshot, and
every bar with a value must have drawn with a size. A screenshot goes to
``build/python-cli/`` (or ``$BT_ARTIFACT_DIR``) for a person to look at.
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess

import boundarytrace as bt

from test_cli import run_cli, write_snapshot

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = pathlib.Path(os.environ.get("BT_ARTIFACT_DIR") or ROOT / "build" / "python-cli")
ODD = '<script>alert("x")</script> & co'

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]


def chromium(tmp_path, *args):
    """Runs headless Chromium with a fresh profile; returns its standard output."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is missing: apt-get install chromium (scripts/lib/deps.d/cli.sh)"
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    proc = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *map(str, args)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _build(m):
    compress = bt.register_phase("html_compress", gil_held=False)
    for i in range(30):
        v = 1_000 * (1 + i % 10)
        m.record("insert_many", 12 * v + 700,
                 phases={bt.EXTRACT: 2 * v, bt.CONVERT: (3 * v, 2), compress: v,
                         bt.NETWORK: (5 * v, 2), bt.MATERIALIZE: v},
                 items=2000, gil_releases=2, gil_wait_ns=40 * i, workers=1 + i % 4)
        m.record("find", 10 * v, phases={bt.EXTRACT: v, bt.NETWORK: 2 * v, bt.MATERIALIZE: 6 * v},
                 items=20)  # never releases the GIL
    m.record(ODD, 5_000, phases={bt.NETWORK: 5_000}, gil_releases=1)  # no unattributed time
    m.trace("never_finished")  # bound, never recorded: count 0


def _expected(snap):
    """{chart id: (bars, bars with a value)} from the library's own snapshot."""
    ops = [op for op in snap if op.count > 0]
    out = {}
    segs = [ps.sum_ns for op in ops for ps in op.phases.values()] + \
        [v for op in ops for v in (op.gil_wait_ns, op.unattributed_ns)]
    out["chart-phases"] = (sum(1 for v in segs if v), sum(1 for v in segs if v))
    gil = [v for op in ops for v in (op.gil_held_ns, op.gil_released_ns, op.gil_wait_ns)]
    out["chart-gil"] = (len(gil), sum(1 for v in gil if v))
    for i, op in enumerate(ops):
        dists = list(op.phases.values()) + ([op.gil_wait] if op.gil_wait.count else []) + [op.total]
        qs = [v for d in dists for v in (d.p50_ns, d.p90_ns, d.p99_ns, d.p999_ns)]
        out[f"chart-latency-{i}"] = (len(qs), sum(1 for v in qs if v))
    return out


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_cli_html__charts_draw_in_chromium(tmp_path, backend):
    snap_path = tmp_path / "snap.json"
    snap = write_snapshot(snap_path, _build)
    page = tmp_path / "report.html"
    proc = run_cli("report", snap_path, "--html", page, backend=backend)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"wrote {page} (4 operations)\n"
    text = page.read_text(encoding="utf-8")
    umask = os.umask(0)
    os.umask(umask)
    assert page.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not 0600

    # self-contained: nothing to fetch
    assert not re.search(r"https?:|<link|\bsrc=|@import|url\(|//cdn", text, re.I)
    assert text.count("<script") == 1  # the page's own; the odd operation name is text
    assert html.escape(ODD) in text

    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert 'data-rendered="yes"' in dom, "the page's script did not run"
    m = re.search(r'<pre id="bt-render-check">(.*?)</pre>', dom, re.S)
    assert m, "no render summary in the DOM"
    drawn = json.loads(html.unescape(m.group(1)))
    expected = _expected(snap)
    assert set(drawn) == set(expected)
    for chart, (bars, with_value) in expected.items():
        got = drawn[chart]
        assert (got["bars"], got["with_value"]) == (bars, with_value), chart
        assert got["drawn"] == with_value, f"{chart}: bars with a value that did not draw"
        assert got["width"] > 300 and got["height"] > 50, chart
    # insert_many (phases, GIL wait, unattributed), find (never released), ODD
    assert drawn["chart-phases"]["bars"] == 5 + 1 + 1 + 3 + 1 + 1
    assert drawn["chart-gil"]["bars"] == 3 * 3
    # operations by name: ODD ("<" sorts first), find, insert_many; phases, the GIL wait
    # of operations that released it, and the total: 4 bars each
    assert [drawn[f"chart-latency-{i}"]["bars"] for i in range(3)] == [4 * 3, 4 * 4, 4 * 7]
    assert dom.count("<script") == 1  # the odd operation name stayed text

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"report-{backend}.png"
    if shot.exists():
        shot.unlink()
    chromium(tmp_path, "--window-size=1200,2200", f"--screenshot={shot}", page.as_uri())
    assert _png_size(shot) == (1200, 2200)
    assert shot.stat().st_size > 30_000  # charts and tables, not a blank page
    shutil.copy(page, ARTIFACTS / "report.html")


def test_cli_html__empty_snapshot(tmp_path, backend):
    snap_path = tmp_path / "empty.json"
    write_snapshot(snap_path, lambda m: None)
    page = tmp_path / "empty.html"
    proc = run_cli("report", snap_path, "--html", page, backend=backend)
    assert proc.returncode == 0, proc.stderr
    text = page.read_text(encoding="utf-8")
    assert "No operations were recorded" in text and 'class="chart"' not in text
