"""Durations and percentages: printed as the library's text report prints them,
and parsed from the command line and budgets."""

from __future__ import annotations

import math
import re
from typing import List, Optional, Sequence

__all__ = ["UsageError", "format_duration", "percent", "plural", "columns", "parse_percent",
           "parse_duration"]


class UsageError(Exception):
    """Bad input other than a snapshot file (a threshold, a budget value): exit code 2."""


# --- printing -------------------------------------------------------------------------

def format_duration(ns: float) -> str:
    """"90 ns", "5.12 µs", "160.2 ms", "2.400 s": the library's format_duration."""
    if isinstance(ns, float) and not math.isfinite(ns):
        return "-"
    if ns < 1000:
        return f"{int(ns)} ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.{2 if ns < 1e4 else 1}f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.{2 if ns < 1e7 else 1}f} ms"
    return f"{ns / 1e9:.3f} s"


def percent(part: float, whole: float) -> str:
    """"12.3%" (0.0% when whole is 0)."""
    return f"{100.0 * part / whole if whole else 0.0:.1f}%"


def plural(n: int, word: str, many: Optional[str] = None) -> str:
    """"1 op", "2 ops"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def columns(rows: Sequence[Sequence[str]], left: int = 1, last_left: bool = False) -> List[str]:
    """Lines of a table: the first ``left`` columns (and the last one, with
    ``last_left``) left-aligned, the others right-aligned."""
    n = len(rows[0])
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    out = []
    for r in rows:
        cells = [c.ljust(w) if i < left or (last_left and i == n - 1) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
    return out


# --- parsing --------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ns|us|µs|μs|ms|s)\s*$")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def parse_percent(text: object, what: str = "a percentage") -> float:
    """"10%", "10", 10 or 2.5 -> a fraction (0.10, 0.025). Raises UsageError."""
    if isinstance(text, bool):
        raise UsageError(f"{what}: expected a percentage like \"10%\", not {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    elif isinstance(text, str):
        body = text.strip()
        if body.endswith("%"):
            body = body[:-1].strip()
        try:
            value = float(body)
        except ValueError:
            raise UsageError(f"{what}: expected a percentage like \"10%\", not {text!r}") from None
    else:
        raise UsageError(f"{what}: expected a percentage like \"10%\", not {text!r}")
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{what}: {text!r} must be a finite percentage >= 0")
    return value / 100.0


def parse_duration(text: object, what: str = "a duration") -> int:
    """"250us", "2ms", "1.5s", "800ns" or an integer of nanoseconds -> ns. Raises UsageError."""
    if isinstance(text, bool):
        raise UsageError(f"{what}: expected a duration like \"2ms\", not {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise UsageError(f"{what}: {text} must not be negative")
        return text
    if isinstance(text, str):
        body = text.strip()
        if body.isdigit():
            return int(body)
        m = _DURATION.match(body)
        if m:
            return int(round(float(m.group(1)) * _UNIT_NS[m.group(2)]))
    raise UsageError(f"{what}: expected a duration like \"250us\", \"2ms\", \"1.5s\" or an "
                     f"integer of nanoseconds, not {text!r}")
