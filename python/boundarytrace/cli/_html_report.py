"""``boundarytrace report --html``: one self-contained page with charts.

Everything is inline: the CSS, the charts (SVG drawn here, in Python) and a
small script. The page loads nothing from the network and works as a file
attached to a CI run. Charts:

1. phase time per operation: one stacked bar per operation, a segment per
   phase (and the unattributed time), as shares of the operation's time;
2. GIL held / released / wait share per operation, with the 30 % and 50 %
   red-flag lines of docs/guide.md;
3. latency percentiles per phase (p50, p90, p99, p99.9) of each operation,
   on a logarithmic time axis.

Every bar is an SVG ``rect`` of class ``bar`` with its value in ``data-v``.
The inline script measures each chart once the page is laid out and writes a
summary (bars, bars with a value, bars drawn with a size) into the element
``#bt-render-check`` and ``data-rendered="yes"`` on ``<body>``: tests read it
back from a headless browser to know the charts drew.
"""

from __future__ import annotations

import html
import math
from typing import Dict, List, Optional, Sequence, Tuple

from ._snapshot_file import GIL_WAIT, Dist, OpData, SnapshotData
from ._units import format_duration, percent, plural

__all__ = ["render_html"]

# Warm colours for GIL-held phases, cool ones for released phases.
_HELD = ("#e4572e", "#f3a712", "#c44536", "#ff8c42", "#a23b72", "#d1495b", "#b5651d", "#e07a5f")
_RELEASED = ("#2e86ab", "#3bb273", "#4062bb", "#17bebb", "#5c80bc", "#6a4c93", "#2a9d8f",
             "#457b9d")
_UNKNOWN = "#777777"
_UNATTRIBUTED = "#b0b5ba"
_WAIT = "#8c6bb1"  # the GIL wait, as in the GIL chart
_GIL_COLOURS = (("held", "#e4572e"), ("released", "#2e86ab"), ("wait", "#8c6bb1"))
_PCT_COLOURS = (("p50", "#9ecae1"), ("p90", "#6baed6"), ("p99", "#3182bd"), ("p99.9", "#08519c"))

_W = 960           # width of the wide charts
_LABEL_W = 200     # room for operation names
_BAR_W = 560       # the 100 % length of a horizontal bar

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #1f2328; background: #fff; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 4px; }
p.meta { color: #57606a; margin: 0 0 12px; }
p.note { color: #57606a; margin: 2px 0 8px; font-size: 13px; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 4px 0 8px; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1f2328; }
svg text.dim { fill: #57606a; }
svg .grid { stroke: #d0d7de; stroke-width: 1; }
svg .flag-warn { stroke: #bf8700; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .flag-fail { stroke: #cf222e; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg rect.bar:hover { opacity: .8; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 4px 0 10px; font-size: 13px; }
.legend span::before { content: ""; display: inline-block; width: 11px; height: 11px;
                       margin-right: 5px; vertical-align: -1px; background: var(--c); }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 14px; }
th, td { padding: 3px 9px; text-align: right; border-bottom: 1px solid #eaeef2;
         white-space: nowrap; font-variant-numeric: tabular-nums; }
th { background: #f6f8fa; }
td:first-child, th:first-child, td:nth-child(2), th:nth-child(2) { text-align: left; }
tr.total td { font-weight: 600; }
.held { color: #c4432b; } .released { color: #1f6f95; }
.flag { color: #cf222e; font-weight: 600; }
#bt-render-check { display: none; }
footer { color: #57606a; font-size: 12px; margin-top: 28px; }
"""

# Measures every chart once laid out: how many bars, how many with a value,
# and how many of those drew with a size. Tests read the result back.
_SCRIPT = """
(function () {
  function check() {
    var out = {};
    var charts = document.querySelectorAll("svg.chart");
    for (var i = 0; i < charts.length; i++) {
      var svg = charts[i], bars = svg.querySelectorAll("rect.bar");
      var withValue = 0, drawn = 0;
      for (var j = 0; j < bars.length; j++) {
        if (parseFloat(bars[j].getAttribute("data-v")) > 0) {
          withValue++;
          var box = bars[j].getBBox();
          if (box.width > 0 && box.height > 0) drawn++;
        }
      }
      var r = svg.getBoundingClientRect();
      out[svg.id] = {kind: svg.getAttribute("data-kind"), bars: bars.length,
                     with_value: withValue, drawn: drawn,
                     width: Math.round(r.width), height: Math.round(r.height)};
    }
    document.getElementById("bt-render-check").textContent = JSON.stringify(out);
    document.body.setAttribute("data-rendered", "yes");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", check);
  else check();
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _f(x: float) -> str:
    """A coordinate: two decimals at most."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _short(name: str, limit: int = 26) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _phase_colours(snap: SnapshotData, ops: Sequence[OpData]) -> Dict[str, str]:
    """A colour per phase name: warm when the GIL is held, cool when released."""
    names: List[str] = list(snap.phase_gil)
    for op in ops:
        names += [p for p in op.phases if p not in names]
    out: Dict[str, str] = {}
    held_i = released_i = 0
    for name in names:
        held = snap.phase_gil.get(name)
        if held is None:
            out[name] = _UNKNOWN
        elif held:
            out[name] = _HELD[held_i % len(_HELD)]
            held_i += 1
        else:
            out[name] = _RELEASED[released_i % len(_RELEASED)]
            released_i += 1
    return out


def _legend(items: Sequence[Tuple[str, str]]) -> str:
    return ('<div class="legend">' +
            "".join(f'<span style="--c:{c}">{_e(label)}</span>' for label, c in items) +
            "</div>")


def _bar(x: float, y: float, w: float, h: float, colour: str, value: float, tip: str,
         extra: str = "") -> str:
    return (f'<rect class="bar" x="{_f(x)}" y="{_f(y)}" width="{_f(max(w, 0.0))}" '
            f'height="{_f(max(h, 0.0))}" fill="{colour}" data-v="{value:g}"{extra}>'
            f"<title>{_e(tip)}</title></rect>")


def _svg(chart_id: str, kind: str, width: float, height: float, body: List[str],
         label: str) -> str:
    return (f'<svg class="chart" id="{_e(chart_id)}" data-kind="{kind}" role="img" '
            f'aria-label="{_e(label)}" width="{_f(width)}" height="{_f(height)}" '
            f'viewBox="0 0 {_f(width)} {_f(height)}">' + "".join(body) + "</svg>")


# --- chart 1: stacked phase time per operation -----------------------------------------------

def _phase_chart(ops: Sequence[OpData], colours: Dict[str, str]) -> str:
    row_h, gap, top = 24, 12, 24
    height = top + len(ops) * (row_h + gap) + 8
    body = [f'<text x="{_LABEL_W}" y="14" class="dim">0%</text>',
            f'<text x="{_LABEL_W + _BAR_W}" y="14" class="dim" text-anchor="end">100% of the '
            f"operation's time</text>"]
    for i, op in enumerate(ops):
        y = top + i * (row_h + gap)
        body.append(f'<text x="{_LABEL_W - 8}" y="{_f(y + row_h / 2 + 4)}" text-anchor="end">'
                    f"<title>{_e(op.name)}</title>{_e(_short(op.name))}</text>")
        x = float(_LABEL_W)
        segments = [(name, d.sum_ns, colours.get(name, _UNKNOWN)) for name, d in op.phases.items()]
        segments.append((GIL_WAIT, op.gil_wait_ns, _WAIT))
        segments.append(("unattributed", op.unattributed_ns, _UNATTRIBUTED))
        for name, ns, colour in segments:
            if ns == 0:
                continue
            w = _BAR_W * op.share(ns)
            tip = (f"{op.name} · {name}: {format_duration(ns)} "
                   f"({percent(ns, op.total_ns)} of {format_duration(op.total_ns)})")
            body.append(_bar(x, y, w, row_h, colour, ns, tip,
                             f' data-op="{_e(op.name)}" data-phase="{_e(name)}"'))
            x += w
        mean = op.total_ns // op.count if op.count else 0
        body.append(f'<text x="{_LABEL_W + _BAR_W + 10}" y="{_f(y + row_h / 2 + 4)}">'
                    f"{_e(format_duration(op.total_ns))}"
                    f'<tspan class="dim"> · {_e(plural(op.count, "op"))}, '
                    f"{_e(format_duration(mean))}/op</tspan></text>")
    return _svg("chart-phases", "phases", _W, height, body, "Phase time per operation")


# --- chart 2: GIL held / released / wait share ------------------------------------------------

def _gil_chart(ops: Sequence[OpData]) -> str:
    bar_h, inner, gap, top = 11, 2, 16, 26
    group_h = 3 * bar_h + 2 * inner
    height = top + len(ops) * (group_h + gap) + 4
    body: List[str] = []
    for pct in (0, 25, 50, 75, 100):
        x = _LABEL_W + _BAR_W * pct / 100
        body.append(f'<line class="grid" x1="{_f(x)}" x2="{_f(x)}" y1="18" y2="{height - 4}"/>')
        body.append(f'<text x="{_f(x)}" y="13" class="dim" text-anchor="middle">{pct}%</text>')
    for pct, cls, word in ((30, "flag-warn", "warn 30%"), (50, "flag-fail", "fail 50%")):
        x = _LABEL_W + _BAR_W * pct / 100
        body.append(f'<line class="{cls}" x1="{_f(x)}" x2="{_f(x)}" y1="18" y2="{height - 4}">'
                    f"<title>GIL held above {pct}%: {word.split()[0]} (docs/guide.md)</title>"
                    f"</line>")
    for i, op in enumerate(ops):
        y0 = top + i * (group_h + gap)
        body.append(f'<text x="{_LABEL_W - 8}" y="{_f(y0 + group_h / 2 + 4)}" '
                    f'text-anchor="end"><title>{_e(op.name)}</title>{_e(_short(op.name))}</text>')
        values = (op.gil_held_ns, op.gil_released_ns, op.gil_wait_ns)
        for j, ((word, colour), ns) in enumerate(zip(_GIL_COLOURS, values)):
            y = y0 + j * (bar_h + inner)
            share = op.share(ns)
            w = _BAR_W * min(share, 1.0)
            tip = f"{op.name} · GIL {word}: {percent(ns, op.total_ns)} ({format_duration(ns)})"
            body.append(_bar(_LABEL_W, y, w, bar_h, colour, ns, tip,
                             f' data-op="{_e(op.name)}" data-gil="{word}"'))
            body.append(f'<text x="{_f(_LABEL_W + w + 5)}" y="{_f(y + bar_h - 1)}" '
                        f'class="dim">{_e(percent(ns, op.total_ns))}</text>')
    return _svg("chart-gil", "gil", _W, height, body, "GIL held, released and wait share")


# --- chart 3: latency percentiles per phase -----------------------------------------------------

def _decade(ns: float) -> str:
    """An axis label for a power of ten nanoseconds: "100 ns", "10 µs", "1 s"."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:g} {unit}"
    return f"{ns:g} ns"


def _log_range(values: Sequence[int]) -> Tuple[float, float]:
    positive = [v for v in values if v > 0]
    if not positive:
        return 1.0, 10.0
    lo = 10 ** math.floor(math.log10(min(positive)))
    hi = 10 ** math.ceil(math.log10(max(positive)))
    if hi <= lo:
        hi = lo * 10
    return float(lo), float(hi)


def _latency_chart(index: int, op: OpData) -> str:
    groups: List[Tuple[str, Dist]] = list(op.phases.items())
    if op.gil_wait.count:
        groups.append((GIL_WAIT, op.gil_wait))
    groups.append(("total", op.total))
    bar_w, group_gap, left, top, plot_h, bottom = 15, 34, 72, 14, 190, 40
    group_w = len(_PCT_COLOURS) * bar_w
    width = max(480, left + len(groups) * (group_w + group_gap) + 10)
    height = top + plot_h + bottom
    values = [v for _, d in groups for v in d.quantiles().values()]
    lo, hi = _log_range(values)
    span = math.log10(hi / lo)

    def y_of(v: float) -> float:
        if v <= lo:
            return top + plot_h
        return top + plot_h - plot_h * math.log10(v / lo) / span

    body: List[str] = []
    decade = lo
    while decade <= hi * 1.0001:
        y = y_of(decade)
        body.append(f'<line class="grid" x1="{left}" x2="{_f(width - 6)}" y1="{_f(y)}" '
                    f'y2="{_f(y)}"/>')
        body.append(f'<text x="{left - 6}" y="{_f(y + 4)}" class="dim" text-anchor="end">'
                    f"{_e(_decade(decade))}</text>")
        decade *= 10
    for g, (name, d) in enumerate(groups):
        x0 = left + group_gap / 2 + g * (group_w + group_gap)
        for k, ((label, colour), v) in enumerate(zip(_PCT_COLOURS, d.quantiles().values())):
            y = y_of(v) if v > 0 else top + plot_h
            tip = f"{op.name} · {name} {label}: {format_duration(v)} ({plural(d.count, 'sample')})"
            body.append(_bar(x0 + k * bar_w, y, bar_w - 1, top + plot_h - y, colour, v, tip,
                             f' data-op="{_e(op.name)}" data-phase="{_e(name)}" '
                             f'data-q="{label}"'))
        body.append(f'<text x="{_f(x0 + group_w / 2)}" y="{top + plot_h + 16}" '
                    f'text-anchor="middle"><title>{_e(name)}</title>{_e(_short(name, 13))}'
                    f"</text>")
    body.append(f'<line class="grid" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>')
    return _svg(f"chart-latency-{index}", "latency", width, height, body,
                f"Latency percentiles per phase of {op.name}")


# --- the table ------------------------------------------------------------------------------

def _table(op: OpData, snap: SnapshotData) -> str:
    head = ["phase", "GIL", "time", "share", "entries", "mean", "p50", "p90", "p99", "p99.9",
            "max"]
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]

    def row(label: str, gil: Optional[bool], d: Dist, cls: str = "") -> str:
        q = d.quantiles()
        word = "" if gil is None else ("held" if gil else "released")
        cells = [_e(label), f'<span class="{word}">{word}</span>', format_duration(d.sum_ns),
                 percent(d.sum_ns, op.total_ns), str(d.entries), format_duration(d.mean_ns),
                 format_duration(q["p50"]), format_duration(q["p90"]), format_duration(q["p99"]),
                 format_duration(q["p99.9"]), format_duration(d.max_ns)]
        return f'<tr class="{cls}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    for name, d in op.phases.items():
        rows.append(row(name, snap.phase_gil.get(name, d.gil_held), d))
    if op.gil_wait.count:
        rows.append(row(GIL_WAIT, None, op.gil_wait, "wait"))
    rows.append("<tr><td>unattributed</td><td></td>"
                f"<td>{format_duration(op.unattributed_ns)}</td>"
                f"<td>{percent(op.unattributed_ns, op.total_ns)}</td>"
                + "<td></td>" * 7 + "</tr>")
    rows.append(row("total", None, op.total, "total"))
    return "<table>" + "".join(rows) + "</table>"


def _op_summary(op: OpData) -> str:
    parts = [plural(op.count, "op"), plural(op.errors, "error"), f"{op.items} items"]
    if op.items:
        parts[-1] += f" ({format_duration(op.total_ns // op.items)}/item)"
    if op.workers_max > 1:
        parts.append(f"up to {op.workers_max} workers ({plural(op.parallel_ops, 'parallel op')})")
    if op.left_open:
        parts.append(f'<span class="flag">{op.left_open} left a phase open</span>')
    gil = (f"GIL held {percent(op.gil_held_ns, op.total_ns)}, released "
           f"{percent(op.gil_released_ns, op.total_ns)}, wait {format_duration(op.gil_wait_ns)} "
           f"({percent(op.gil_wait_ns, op.total_ns)}) over "
           f"{plural(op.gil_releases, 'release')}")
    if op.count and op.gil_releases == 0:
        gil = f'<span class="flag">{gil}</span>'
    return ", ".join(p if p.startswith("<span") else _e(p) for p in parts) + ". " + gil


# --- the page -------------------------------------------------------------------------------

def render_html(snap: SnapshotData, ops: Sequence[OpData], version: str) -> str:
    """The whole page for ``ops`` of ``snap`` (a str of HTML, UTF-8)."""
    colours = _phase_colours(snap, ops)
    shown = [op for op in ops if op.count > 0]
    used = []
    for name, colour in colours.items():
        if any(name in op.phases for op in shown):
            held = snap.phase_gil.get(name)
            word = "" if held is None else (" (GIL held)" if held else " (GIL released)")
            used.append((name + word, colour))
    if any(op.gil_wait_ns for op in shown):
        used.append((GIL_WAIT, _WAIT))
    used.append(("unattributed", _UNATTRIBUTED))

    title = f"boundarytrace report: {snap.source}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head>",
           '<body data-rendered="no">',
           f"<h1>{_e(title)}</h1>",
           f'<p class="meta">{_e(plural(len(ops), "operation"))} over '
           f"{_e(format_duration(snap.duration_ns))}; clock {_e(snap.clock or '?')}; "
           f"schema boundarytrace.snapshot v{snap.version}</p>"]
    if not shown:
        out.append("<p>No operations were recorded in this snapshot.</p>")
    else:
        out += ["<h2>Where the time goes: phase time per operation</h2>",
                '<p class="note">Each bar is one operation\'s time, split by phase; hover for '
                "the figures.</p>", _legend(used), _phase_chart(shown, colours),
                "<h2>GIL held / released / wait share per operation</h2>",
                '<p class="note">Shares of the operation\'s time. Red flags (docs/guide.md): GIL '
                "held above 30 % (warn) and 50 % (fail); no GIL release at all.</p>",
                _legend([(f"GIL {w}", c) for w, c in _GIL_COLOURS]), _gil_chart(shown),
                "<h2>Latency percentiles per phase</h2>",
                '<p class="note">Time per operation in each phase, logarithmic axis.</p>',
                _legend(list(_PCT_COLOURS))]
        for i, op in enumerate(shown):
            out.append(f"<h3>{_e(op.name)}</h3>")
            out.append(_latency_chart(i, op))
    out.append("<h2>Operations</h2>")
    for op in ops:
        out.append(f"<h3>{_e(op.name)}</h3><p>{_op_summary(op)}</p>")
        if op.count:
            out.append(_table(op, snap))
    out.append(f"<footer>boundarytrace {_e(version)} · self-contained page: no network, inline "
               f"CSS, SVG and script</footer>")
    out.append('<pre id="bt-render-check"></pre>')
    out.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(out) + "\n"
