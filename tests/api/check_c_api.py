#!/usr/bin/env python3
"""Checks every function of the public C headers against bt.h's conventions.

- the name starts with bt_ and a doc comment (/** ... */) comes before it;
- one order for every signature: outputs first, then the objects (library
  handles) the call acts on, then the other inputs. An output is a pointer to
  a pointer, a non-const pointer to a value (not a handle), or the capacity
  that follows an output buffer;
- an output is named `out`, `*_out`, `needed`, or is a buffer followed by
  `size_t cap`;
- bt_noop.h defines exactly the functions bt.h declares, with the same
  parameter types.

Usage: check_c_api.py INCLUDE_DIR   (exit 1 and one line per violation)
       check_c_api.py --self-test   (the checker rejects a broken header)
"""
import os
import re
import sys

HANDLES = {"bt_tracer", "bt_metrics", "bt_op", "bt_snapshot", "bt_timing"}
DECL = re.compile(r"(/\*\*(?:(?!\*/).)*\*/\s*)?BT_API\s+([^;{(]*?)\b(bt_\w+)\s*\(([^)]*)\)\s*;", re.S)
NOOP = re.compile(r"BT_NOOP_\s+([^{(]*?)\b(bt_\w+)\s*\(([^)]*)\)\s*\{", re.S)


def params(text):
    text = " ".join(text.split())
    if text in ("", "void"):
        return []
    out = []
    for p in text.split(","):
        p = p.strip()
        m = re.match(r"(.*?)(\w+)$", p)
        ptype, name = m.group(1).strip(), m.group(2)
        out.append((ptype, name))
    return out


def kind(ptype, name, prev):
    """'out', 'object' or 'in' for one parameter."""
    stars = ptype.count("*")
    base = ptype.replace("*", " ").replace("const", " ").split()[-1] if ptype else ""
    const = ptype.lstrip().startswith("const") or base == "const"
    if prev is not None and prev[0] == "out" and prev[1] == "buffer" and name == "cap":
        return "out", "cap"
    if stars >= 2:
        return "out", "ptr"
    if stars == 1 and base in HANDLES and not (base == "bt_timing" and not const):
        return "object", None
    if stars == 1 and not const:
        return "out", "buffer" if base in ("char", "bt_bucket") else "ptr"
    return "in", None


def check_decl(name, plist, has_doc):
    errors = []
    if not name.startswith("bt_"):
        errors.append(f"{name}: public functions start with bt_")
    if not has_doc:
        errors.append(f"{name}: no doc comment (/** ... */) before the declaration")
    kinds, prev = [], None
    for ptype, pname in plist:
        k = kind(ptype, pname, prev)
        kinds.append((k[0], pname))
        prev = k
        if k[0] == "out" and k[1] == "ptr" and not (pname == "out" or pname.endswith("_out") or pname == "needed"):
            errors.append(f"{name}: output parameter `{pname}` is not named out, *_out or needed")
        if k[0] == "out" and k[1] == "buffer":
            idx = [p[1] for p in plist].index(pname)
            if idx + 1 >= len(plist) or plist[idx + 1] != ("size_t", "cap"):
                errors.append(f"{name}: output buffer `{pname}` is not followed by `size_t cap`")
    rank = {"out": 0, "object": 1, "in": 2}
    for (k1, n1), (k2, n2) in zip(kinds, kinds[1:]):
        if rank[k2] < rank[k1]:
            errors.append(f"{name}: {k2} parameter `{n2}` comes after {k1} parameter `{n1}` "
                          "(outputs first, then the objects, then the other inputs)")
    return errors


def check_text(header, noop=None):
    errors, decls = [], {}
    for m in DECL.finditer(header):
        doc, name, plist = m.group(1), m.group(3), params(m.group(4))
        decls[name] = [t for t, _ in plist]
        errors += check_decl(name, plist, bool(doc))
    if not decls:
        errors.append("no BT_API declarations found")
    if noop is not None:
        defs = {m.group(2): [t for t, _ in params(m.group(3))] for m in NOOP.finditer(noop)}
        for name in sorted(set(decls) - set(defs)):
            errors.append(f"bt_noop.h: no no-op for {name}")
        for name in sorted(set(defs) - set(decls)):
            errors.append(f"bt_noop.h: {name} is not in bt.h")
        for name in sorted(set(decls) & set(defs)):
            norm = lambda ts: [" ".join(t.replace("*", " * ").split()) for t in ts]
            if norm(decls[name]) != norm(defs[name]):
                errors.append(f"bt_noop.h: {name} takes {defs[name]}, bt.h says {decls[name]}")
    return errors, len(decls)


def self_test():
    good = "/** ok */\nBT_API bt_status bt_snapshot_find(size_t *index_out, const bt_snapshot *snapshot, const char *name);\n"
    cases = {
        "object before output": "/** x */\nBT_API bt_status bt_metrics_snapshot(bt_metrics *metrics, bt_snapshot **out);\n",
        "input before output": "/** x */\nBT_API bt_status bt_format_for_path(const char *path, bt_format *out);\n",
        "buffer after object": "/** x */\nBT_API bt_status bt_snapshot_format(const bt_snapshot *s, char *buf, size_t cap, size_t *needed);\n",
        "input before object": "/** x */\nBT_API bt_status bt_snapshot_write(bt_format f, const bt_snapshot *s);\n",
        "no doc": "BT_API bt_status bt_metrics_reset(bt_metrics *metrics);\n",
        "badly named output": "/** x */\nBT_API bt_status bt_op_lookup(bt_op **op, bt_metrics *m, const char *name);\n",
    }
    errs, n = check_text(good)
    assert not errs and n == 1, errs
    for what, text in cases.items():
        errs, _ = check_text(text)
        assert errs, f"the checker accepted: {what}"
    errs, _ = check_text(good, "BT_NOOP_ bt_status bt_snapshot_find(size_t *index_out, const char *name) { return 0; }")
    assert errs, "the checker accepted a no-op with other parameters"
    print(f"self-test: {len(cases) + 1} broken headers rejected, the good one accepted")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    inc = os.path.join(argv[1], "boundarytrace")
    with open(os.path.join(inc, "bt.h"), encoding="utf-8") as f:
        header = f.read()
    with open(os.path.join(inc, "bt_noop.h"), encoding="utf-8") as f:
        noop = f.read()
    errors, n = check_text(header, noop)
    for e in errors:
        print("check_c_api:", e)
    print(f"check_c_api: {n} functions, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
