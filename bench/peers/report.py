#!/usr/bin/env python3
"""Render bench/peers/run.sh results as a markdown table, with findings counted from
each tool's own output so the comparison shows that every tool really found the
violations.

usage: report.py RESULTS.tsv OUT_DIR CORPORA_DIR RUNS VERSIONS
"""

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path


def read(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def comm_findings(out, err):
    """Our `check --format json`: the violation list, whatever its top-level shape."""
    try:
        data = json.loads(out)
    except ValueError:
        hits = [l for l in (out + err).splitlines() if re.match(r"^\S+:\d+:\d+", l)]
        return len(hits), f"{len(hits)} imports"
    items, unresolved = [], 0
    if isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        for key in ("violations", "findings", "errors"):
            if isinstance(data.get(key), list):
                items = data[key]
                break
        for key in ("unresolvable", "unresolved"):
            if isinstance(data.get(key), list):
                unresolved = len(data[key])
            elif isinstance(data.get(key), int):
                unresolved = data[key]
    real = [i for i in items if not (isinstance(i, dict) and "unresolv" in str(i.get("rule", "")))]
    unresolved += len(items) - len(real)
    lines = {(i.get("file"), i.get("line")) for i in real if isinstance(i, dict)}
    text = f"{len(lines)} imports ({len(real)} names)"
    chains = sum(1 for i in real if isinstance(i, dict) and i.get("chain"))
    if chains:
        text += f", {chains} of them chains of 2+ imports"
    stats = data.get("stats", {}) if isinstance(data, dict) else {}
    if unresolved:
        text += f", {unresolved} unresolvable"
    if stats:
        text += f"; {stats.get('files')} files, {stats.get('parsed')} parsed, {stats.get('cached')} cached"
    real = lines
    return len(real), text


def tach_findings(out, err):
    data = json.loads(out) if out.strip() else []
    located = [d["Located"] for d in data if isinstance(d, dict) and "Located" in d]
    errors = [d for d in located if d.get("severity") == "Error"]
    lines = {(d["file_path"], d["line_number"]) for d in errors}
    return len(lines), f"{len(lines)} imports ({len(errors)} names)"


def lint_imports_findings(out, err):
    pairs = [l for l in out.splitlines() if re.match(r"^-\s+\S+ -> \S+", l)]
    lines = sum(len(re.findall(r"l\.\d+", l)) for l in pairs)
    broken = len(re.findall(r" BROKEN$", out, re.M))
    text = f"{lines} imports ({len(pairs)} module pairs, {broken} contracts broken)"
    chains = len(re.findall(r"^-\s+\S+ -> \S+.*\n {4}\S", out, re.M))
    if chains:
        text += f", {chains} of them chains of 2+ imports"
    return lines, text


def depcruise_findings(out, err):
    data = json.loads(out)
    errors = [v for v in data["summary"]["violations"] if v["rule"]["severity"] == "error"]
    return len(errors), f"{len(errors)} module pairs ({data['summary']['totalCruised']} modules cruised)"


COUNTERS = {
    "comm": comm_findings,
    "tach": tach_findings,
    "lint-imports": lint_imports_findings,
    "depcruise": depcruise_findings,
}


def findings(out_dir, corpus, scenario, tool, kind):
    key = f"{corpus}.{scenario}.{tool}"
    out, err = read(Path(out_dir, key + ".out")), read(Path(out_dir, key + ".err"))
    try:
        return COUNTERS[kind](out, err)
    except (ValueError, KeyError, TypeError) as e:
        return None, f"unreadable output ({e.__class__.__name__})"


def source_files(corpora, corpus):
    exts = {"django": ".py", "rxjs": ".ts", "tokio": ".rs", "sqlalchemy": ".py"}[corpus]
    files = subprocess.run(
        ["git", "-C", str(Path(corpora, corpus)), "ls-files"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return sum(1 for f in files if f.endswith(exts)), exts


def cpu_name():
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown cpu"


def main():
    results, out_dir, corpora, runs, versions = sys.argv[1:6]
    rows = [l.rstrip("\n").split("\t") for l in read(results).splitlines() if l.strip()]
    ours = {(r[0], r[1]): float(r[4]) for r in rows if r[3] == "comm"}
    print(f"Machine: {os.cpu_count()} cores, {cpu_name()}; median of {runs} runs each.")
    print("Wall time of the whole command; CPU = user + system time of the command and its children.")
    print(f"Versions: {versions}.")
    corpus_seen = []
    for r in rows:
        if r[0] not in corpus_seen:
            corpus_seen.append(r[0])
    sizes = ", ".join(
        "{} {} {} files".format(c, *source_files(corpora, c)) for c in corpus_seen
    )
    print(f"Corpora: {sizes}.")
    print()
    print("| corpus | scenario | tool | median ms | min–max ms | CPU ms | findings | peer / ours |")
    print("|---|---|---|---:|---:|---:|---|---:|")
    counts = {}
    for corpus, scenario, tool, kind, median, lo, hi, _rc, _cmd, cpu in rows:
        base = ours.get((corpus, scenario))
        if kind == "comm":
            ratio = "1.00"
        elif base:
            ratio = f"{float(median) / base:.2f}"
        else:
            ratio = "n/a"
        count, found = findings(out_dir, corpus, scenario, tool, kind)
        if scenario.startswith("whole, cold"):
            counts.setdefault(corpus, {})[tool] = count
        print(f"| {corpus} | {scenario} | {tool} | {median} | {lo}–{hi} | {cpu} | {found} | {ratio} |")
    print()
    honest = verify(counts)
    print()
    print("Commands (run in each corpus repo):")
    print()
    seen = set()
    for corpus, scenario, tool, kind, *_rest, cmd, _cpu in rows:
        short = re.sub(r"\S*/bench-work/", "bench-work/", cmd)
        if (corpus, short) not in seen:
            seen.add((corpus, short))
            print(f"- {corpus}, {scenario}: `{short}`")
    return 0 if honest else 1


def verify(counts):
    """Every tool must have found violations where the rules make some; say so plainly."""
    ok = True
    for corpus, by_tool in counts.items():
        found = ", ".join(f"{t}: {'?' if n is None else n}" for t, n in by_tool.items())
        print(f"Violations found by each tool on {corpus} (whole repo): {found}.")
        for tool, n in by_tool.items():
            if not n:
                ok = False
                print(f"**WARNING: {tool} on {corpus} reported no violation: its timing is not comparable.**")
    return ok


if __name__ == "__main__":
    sys.exit(main())
