#!/usr/bin/env python3
"""Checks that the layers point down only (docs/guide.md, "Layers"):

- nothing outside capi/ includes a cpp_impl/ header (bindings, examples,
  bench and tests use the public headers);
- cpp_impl/ includes neither capi/ nor the public headers (the core knows no
  C API), nor a language runtime (Python.h, pybind11, jni.h, ...);
- capi/ includes no language runtime either: language helpers ship with
  their language's package.

Usage: check_layers.py SOURCE_DIR   (exit 1 and one line per violation)
       check_layers.py --self-test
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
SOURCES = (".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".i", ".swg", ".pxd", ".pyx")
LANGUAGE = re.compile(r"^(Python\.h|pybind11/|nanobind/|jni\.h|tcl\.h|EXTERN\.h|perl\.h|node_api\.h|napi\.h)")
SKIP_DIRS = {".git", ".venv", "node_modules", "target"}


def violations(rel, text):
    top = rel.split("/", 1)[0]
    out = []
    for m in INCLUDE.finditer(text):
        inc = m.group(1)
        line = text.count("\n", 0, m.start()) + 1
        where = f"{rel}:{line}: #include {inc}"
        if top != "capi" and top != "cpp_impl" and (inc.startswith("cpp_impl/") or "/cpp_impl/" in inc):
            out.append(f"{where}: only capi/ may include the core")
        if top == "cpp_impl" and (inc.startswith("capi/") or inc.startswith("boundarytrace/")):
            out.append(f"{where}: the core includes no C API header")
        if top in ("cpp_impl", "capi") and LANGUAGE.match(inc):
            out.append(f"{where}: {top}/ knows no language")
    return out


def scan(root):
    found, files = [], 0
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")]
        for n in names:
            if not n.endswith(SOURCES):
                continue
            path = os.path.join(d, n)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, encoding="utf-8", errors="replace") as f:
                found += violations(rel, f.read())
            files += 1
    return found, files


def self_test():
    bad = {
        "python/src/native.cpp": '#include "cpp_impl/tracer.hpp"\n',
        "examples/c/x.c": "#include <cpp_impl/metrics.hpp>\n",
        "cpp_impl/metrics.cpp": '#include "capi/src/shim.hpp"\n',
        "cpp_impl/tracer.cpp": "#include <boundarytrace/bt.h>\n",
        "capi/include/boundarytrace/py.hpp": "#include <pybind11/pybind11.h>\n",
    }
    for rel, text in bad.items():
        assert violations(rel, text), f"the checker accepted {rel}: {text.strip()}"
    assert not violations("capi/src/shim.hpp", '#include "cpp_impl/tracer.hpp"\n')
    assert not violations("python/src/native.cpp", "#include <boundarytrace/bt.h>\n#include <pybind11/pybind11.h>\n")
    print(f"self-test: {len(bad)} crossing includes rejected, 2 allowed ones accepted")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    found, files = scan(argv[1])
    for v in found:
        print("check_layers:", v)
    print(f"check_layers: {files} source files, {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
