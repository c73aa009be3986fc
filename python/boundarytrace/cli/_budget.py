"""``boundarytrace check``: the red flags of docs/guide.md as rules a budget sets.

A budget is a TOML file (default_budget.toml ships with the package; docs/cli.md
describes the format)::

    version = 1
    min_count = 1
    [gil_held]             # share of the time with the GIL held
    warn = "30%"
    fail = "50%"
    [gil_never_released]   # count > 0 and gil_releases == 0
    level = "fail"
    [large_batch]          # items per op >= min_items and workers_max <= 1
    min_items = 1000
    level = "warn"
    [left_open]            # operations that finished with a phase open
    level = "warn"
    [phase_p99]            # p99 limit per phase name ("total": the whole op)
    network = { warn = "20ms", fail = "100ms" }
    [ops."insert_many"]    # per operation: keys given replace the defaults'
    phase_p99 = { network = "5ms" }

Every key is checked: an unknown key or a bad value is an error (exit 2),
because a typo in a CI gate must not pass silently.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Optional, Tuple

from ._snapshot_file import OpData, SnapshotData
from ._units import UsageError, format_duration, parse_duration, parse_percent, plural

__all__ = ["BudgetError", "Budget", "CheckResult", "default_budget_path", "load_budget",
           "parse_budget", "check_snapshot"]

LEVELS = ("fail", "warn", "off")
#: Verdicts, worst first.
FAIL, WARN, PASS, SKIP, NOTE = "FAIL", "WARN", "PASS", "----", "NOTE"

_RULES = ("gil_held", "gil_never_released", "large_batch", "left_open", "phase_p99")
_TOP_KEYS = ("version", "min_count", "ops") + _RULES


class BudgetError(Exception):
    """A budget that cannot be read or has a bad key or value."""


def default_budget_path() -> str:
    """The budget shipped with the package (used when --budget is not given)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "default_budget.toml")


def _toml() -> Any:
    try:
        import tomllib  # Python 3.11+
        return tomllib
    except ImportError:
        try:
            import tomli  # the same parser, for Python < 3.11
            return tomli
        except ImportError:
            raise BudgetError("reading a budget needs Python 3.11 (tomllib) or the tomli "
                              "package") from None


# --- values -----------------------------------------------------------------------------

def _percent(value: Any, where: str) -> Optional[float]:
    if value == "off":
        return None
    try:
        share = parse_percent(value, where)
    except UsageError as exc:
        raise BudgetError(str(exc)) from None
    if share > 1.0:
        raise BudgetError(f"{where}: {value!r} is above 100%")
    return share


def _duration(value: Any, where: str) -> Optional[int]:
    if value == "off":
        return None
    try:
        return parse_duration(value, where)
    except UsageError as exc:
        raise BudgetError(str(exc)) from None


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise BudgetError(f"{where}: level must be one of {', '.join(map(repr, LEVELS))}, "
                          f"not {value!r}")
    return str(value)


def _table(value: Any, where: str, keys: Tuple[str, ...]) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise BudgetError(f"{where}: expected a table, not {value!r}")
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise BudgetError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(keys)})")
    return value


def _uint(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise BudgetError(f"{where}: expected a whole number >= 0, not {value!r}")
    return value


class Limits:
    """A warn and a fail limit (either may be None: off)."""

    __slots__ = ("warn", "fail")

    def __init__(self, warn: Optional[float], fail: Optional[float]) -> None:
        self.warn = warn
        self.fail = fail

    def verdict(self, value: float) -> str:
        """FAIL above fail, WARN above warn, else PASS."""
        if self.fail is not None and value > self.fail:
            return FAIL
        if self.warn is not None and value > self.warn:
            return WARN
        return PASS

    @property
    def off(self) -> bool:
        return self.warn is None and self.fail is None


def _limits(raw: Dict[str, Any], where: str, parse: Any) -> Limits:
    lim = Limits(parse(raw["warn"], f"{where}.warn") if "warn" in raw else None,
                 parse(raw["fail"], f"{where}.fail") if "fail" in raw else None)
    if lim.warn is not None and lim.fail is not None and lim.warn > lim.fail:
        raise BudgetError(f"{where}: warn ({raw['warn']!r}) is above fail ({raw['fail']!r})")
    return lim


class Rules:
    """The rules in force for one operation (the defaults, or an op's overrides merged in)."""

    def __init__(self, raw: Dict[str, Any], where: str) -> None:
        g = _table(raw.get("gil_held", {}), f"{where}gil_held", ("warn", "fail"))
        self.gil_held = _limits(g, f"{where}gil_held", _percent)
        n = _table(raw.get("gil_never_released", {}), f"{where}gil_never_released", ("level",))
        self.gil_never_released = _level(n.get("level", "off"), f"{where}gil_never_released.level")
        b = _table(raw.get("large_batch", {}), f"{where}large_batch", ("min_items", "level"))
        self.large_batch_level = _level(b.get("level", "off"), f"{where}large_batch.level")
        self.large_batch_min_items = _uint(b.get("min_items", 1000),
                                           f"{where}large_batch.min_items")
        lo = _table(raw.get("left_open", {}), f"{where}left_open", ("level",))
        self.left_open = _level(lo.get("level", "off"), f"{where}left_open.level")
        p = raw.get("phase_p99", {})
        if not isinstance(p, dict):
            raise BudgetError(f"{where}phase_p99: expected a table of phase = limit, not {p!r}")
        self.phase_p99: Dict[str, Limits] = {}
        for phase, value in p.items():
            pw = f"{where}phase_p99.{phase}"
            if isinstance(value, dict):
                lim = _limits(_table(value, pw, ("warn", "fail")), pw, _duration)
            else:
                lim = Limits(None, _duration(value, pw))
            self.phase_p99[phase] = lim


class Budget:
    """A checked budget: the default rules, and per-operation rules."""

    def __init__(self, raw: Dict[str, Any], source: str) -> None:
        self.source = source
        unknown = [k for k in raw if k not in _TOP_KEYS]
        if unknown:
            raise BudgetError(f"{source}: unknown key {unknown[0]!r} (known: "
                              f"{', '.join(_TOP_KEYS)})")
        version = raw.get("version", 1)
        if version != 1:
            raise BudgetError(f"{source}: budget version {version!r} is not 1, the version this "
                              f"tool reads")
        self.min_count = _uint(raw.get("min_count", 1), f"{source}: min_count")
        base = {k: raw[k] for k in _RULES if k in raw}
        self.defaults = Rules(base, f"{source}: ")
        ops = raw.get("ops", {})
        if not isinstance(ops, dict):
            raise BudgetError(f"{source}: ops: expected a table of operation tables")
        self.ops: Dict[str, Rules] = {}
        for name, table in ops.items():
            where = f"{source}: ops.{name!r}."
            _table(table, where.rstrip("."), _RULES)
            merged = copy.deepcopy(base)
            for rule, value in table.items():
                if isinstance(value, dict) and isinstance(merged.get(rule), dict):
                    merged[rule] = {**merged[rule], **value}
                else:
                    merged[rule] = value
            self.ops[name] = Rules(merged, where)

    def rules(self, op: str) -> Rules:
        """The rules of operation ``op``."""
        return self.ops.get(op, self.defaults)


def parse_budget(text: str, source: str = "<budget>") -> Budget:
    """Checks and reads budget TOML text."""
    toml = _toml()
    # The parser (and a copy or repr() of a bad value) recurses per level of
    # nested arrays or tables: too deep a file is bad input, not a traceback.
    try:
        try:
            raw = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise BudgetError(f"{source}: not valid TOML: {exc}") from None
        return Budget(raw, source)
    except RecursionError:
        raise BudgetError(f"{source}: not a budget: nested too deeply to read") from None


def load_budget(path: str) -> Budget:
    """Reads a budget file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise BudgetError(f"cannot read budget {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise BudgetError(f"budget {path}: not UTF-8 text ({exc.reason})") from None
    return parse_budget(text, path)


# --- checking ------------------------------------------------------------------------------

class Verdict:
    """One rule applied to one operation."""

    __slots__ = ("status", "op", "rule", "text")

    def __init__(self, status: str, op: str, rule: str, text: str) -> None:
        self.status = status
        self.op = op
        self.rule = rule
        self.text = text


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def _limits_text(lim: Limits, fmt: Any) -> str:
    parts = []
    if lim.warn is not None:
        parts.append(f"warn above {fmt(lim.warn)}")
    if lim.fail is not None:
        parts.append(f"fail above {fmt(lim.fail)}")
    return ", ".join(parts)


def _level_status(level: str) -> str:
    return FAIL if level == "fail" else WARN


def _check_op(op: OpData, rules: Rules, min_count: int) -> List[Verdict]:
    out: List[Verdict] = []
    name = op.name

    if not rules.gil_held.off:
        share = op.gil_held_share
        out.append(Verdict(rules.gil_held.verdict(share), name, "gil_held",
                           f"GIL held {_pct(share)} of {format_duration(op.total_ns)} "
                           f"({_limits_text(rules.gil_held, _pct)})"))

    if rules.gil_never_released != "off":
        if op.gil_releases == 0:
            out.append(Verdict(_level_status(rules.gil_never_released), name,
                               "gil_never_released",
                               f"{plural(op.count, 'op')} and no GIL release: every other "
                               f"Python thread stalls for the whole call"))
        else:
            out.append(Verdict(PASS, name, "gil_never_released",
                               f"{plural(op.gil_releases, 'GIL release')} in "
                               f"{plural(op.count, 'op')}"))

    if rules.large_batch_level != "off":
        per_op = op.items_per_op
        limit = rules.large_batch_min_items
        workers = f"at most {plural(op.workers_max, 'worker')}" if op.workers_max else \
            "no workers reported"
        if per_op >= limit and op.workers_max <= 1:
            out.append(Verdict(_level_status(rules.large_batch_level), name, "large_batch",
                               f"{per_op:.0f} items/op with {workers}: convert is not "
                               f"parallel (batches from {limit} items/op)"))
        else:
            why = (f"up to {op.workers_max} workers" if op.workers_max > 1
                   else f"below {limit} items/op")
            out.append(Verdict(PASS, name, "large_batch", f"{per_op:.0f} items/op, {why}"))

    if rules.left_open != "off":
        status = _level_status(rules.left_open) if op.left_open else PASS
        out.append(Verdict(status, name, "left_open",
                           f"{op.left_open} of {plural(op.count, 'op')} left a phase open"))

    for phase, lim in rules.phase_p99.items():
        if lim.off:
            continue
        d = op.dist(phase)
        rule = f"phase_p99.{phase}"
        if d is None or d.count == 0:
            continue  # the operation never entered the phase
        if d.count < min_count:
            out.append(Verdict(SKIP, name, rule,
                               f"{plural(d.count, 'sample')}, fewer than min_count {min_count}: "
                               f"not judged"))
            continue
        out.append(Verdict(lim.verdict(d.p99_ns), name, rule,
                           f"p99 {format_duration(d.p99_ns)} "
                           f"({_limits_text(lim, format_duration)})"))
    return out


class CheckResult:
    """Every verdict of a check, and the notes (budget entries that matched nothing)."""

    def __init__(self, snap: SnapshotData, budget_label: str) -> None:
        self.snap = snap
        self.budget_label = budget_label
        self.verdicts: List[Verdict] = []
        self.notes: List[str] = []

    def count(self, status: str) -> int:
        return sum(1 for v in self.verdicts if v.status == status)

    def failed(self, strict: bool = False) -> bool:
        """True when a rule failed (or, with strict, warned)."""
        return bool(self.count(FAIL) or (strict and self.count(WARN)))

    def lines(self, strict: bool = False) -> List[str]:
        """The printed report: a line per verdict, grouped by operation, then the result."""
        out = [f"boundarytrace check: {self.snap.source}", f"budget: {self.budget_label}"]
        width = max([len(v.rule) for v in self.verdicts] + [4])
        current = None
        for v in self.verdicts:
            if v.op != current:
                current = v.op
                out.append("")
                out.append(f"{v.op}")
            out.append(f"  {v.status}  {v.rule.ljust(width)}  {v.text}")
        if self.notes:
            out.append("")
            out.extend(f"{NOTE}: {n}" for n in self.notes)
        out.append("")
        fails, warns, passes = self.count(FAIL), self.count(WARN), self.count(PASS)
        summary = (f"{plural(fails, 'rule')} failed, {plural(warns, 'warning')}, "
                   f"{passes} passed")
        if self.failed(strict):
            why = "" if fails else " (--strict: warnings fail)"
            out.append(f"FAIL: {summary}{why}")
        else:
            out.append(f"OK: {summary}")
        return out


def check_snapshot(snap: SnapshotData, budget: Budget, budget_label: str) -> CheckResult:
    """Applies every rule of ``budget`` to every operation of ``snap``."""
    res = CheckResult(snap, budget_label)
    entered = set()
    for op in snap.ops.values():
        entered.update(op.phases)
        if op.count == 0:
            res.verdicts.append(Verdict(SKIP, op.name, "all", "no operations recorded"))
            continue
        res.verdicts.extend(_check_op(op, budget.rules(op.name), budget.min_count))
    for name in budget.ops:
        if name not in snap.ops:
            res.notes.append(f"the budget has rules for operation {name!r}, which is not in "
                             f"the snapshot")
    limited = set(budget.defaults.phase_p99)
    for rules in budget.ops.values():
        limited.update(rules.phase_p99)
    for phase in sorted(limited - entered - {"total"}):
        res.notes.append(f"phase_p99 limits phase {phase!r}, which no operation entered")
    if not snap.ops:
        res.notes.append("the snapshot has no operations")
    return res
