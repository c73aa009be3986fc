"""The machine and build facts, run notes, and the compile-time switch's
evidence (nm/objdump)."""


import datetime
import json
import os
import platform
import re
import sys
from pathlib import Path

from .common import run

# --- machine -------------------------------------------------------------------

def lscpu():
    facts = {}
    for line in run(["lscpu"]).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            facts.setdefault(key.strip(), value.strip())
    return facts


def cmake_cache(build, key):
    try:
        for line in Path(build, "CMakeCache.txt").read_text().splitlines():
            if line.startswith(key + ":"):
                return line.split("=", 1)[1]
    except OSError:
        pass
    return ""


def cmd_machine(args):
    cpu = lscpu()
    root = Path(__file__).resolve().parents[2]  # bench/perfdoc/ -> the repository
    compiler = cmake_cache(args.build, "CMAKE_CXX_COMPILER")
    os_name = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    commit = run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]).strip()
    if commit and run(["git", "-C", str(root), "status", "--porcelain"]).strip():
        commit += " + uncommitted changes"
    clocksource = ""
    try:
        clocksource = Path(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource").read_text().strip()
    except OSError:
        pass
    facts = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": cpu.get("Model name", platform.processor()),
        "cpus": cpu.get("CPU(s)", str(os.cpu_count())),
        "cores_per_socket": cpu.get("Core(s) per socket", ""),
        "threads_per_core": cpu.get("Thread(s) per core", ""),
        "hypervisor": cpu.get("Hypervisor vendor", ""),
        "kernel": platform.release(),
        "kernel_clocksource": clocksource,
        "os": os_name,
        "compiler": run([compiler, "--version"]).splitlines()[0] if compiler else "",
        "build_type": cmake_cache(args.build, "CMAKE_BUILD_TYPE"),
        "commit": commit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    json.dump(facts, sys.stdout, indent=2)
    print()


def cmd_note(args):
    path = Path(args.results, "machine.json")
    facts = json.loads(path.read_text())
    facts[args.key] = args.value
    path.write_text(json.dumps(facts, indent=2) + "\n")


# --- compile-time switch ----------------------------------------------------------

NO_CODE = re.compile(r"^(ret[qlw]?|repz ret[q]?|rep ret|endbr64|nop\w*(\s.*)?)$")


def cmd_compiled_out(args):
    obj = args.object
    symbols = [line.split()[-1] for line in run(["nm", obj]).splitlines() if line.strip()]
    undefined = [line.split()[-1] for line in run(["nm", "-u", obj]).splitlines() if line.strip()]
    bt_symbols = sorted(s for s in symbols if re.match(r"_*bt_", s))
    disasm = run(["objdump", "-d", "--no-show-raw-insn", "--disassemble=bench_compiled_out_ops", obj])
    insns = []
    for line in disasm.splitlines():
        m = re.match(r"^\s+[0-9a-f]+:\s+(.*?)\s*$", line)
        if m:
            insns.append(re.sub(r"\s+", " ", m.group(1)))
    out = {
        "object": obj,
        "bt_symbols": bt_symbols,
        "undefined_symbols": undefined,
        "function": "bench_compiled_out_ops",
        "instructions": insns,
        "no_bt_symbol": not bt_symbols,
        "no_code": bool(insns) and all(NO_CODE.match(i) for i in insns),
    }
    json.dump(out, sys.stdout, indent=2)
    print()


def cmd_compiled_out_summary(args):
    c = json.loads(Path(args.file).read_text())
    print("bt_ symbols referenced: %s; bench_compiled_out_ops compiles to: %s -> %s" % (
        ", ".join(c["bt_symbols"]) or "none", "; ".join(c["instructions"]) or "(not found)",
        "no code" if c["no_code"] and c["no_bt_symbol"] else "CODE LEFT"))
    return 0 if c["no_code"] and c["no_bt_symbol"] else 1
