#!/usr/bin/env python3
"""Prints the conformance matrix: each runtime × cases passed / total.

Every runner writes target/conformance/<runtime>.json ({"runtime", "passed", "total", "failed"}).
A runtime without a report is shown as NOT RUN and counted as a failure of the matrix, never as a
pass. Runtimes whose binding does not exist yet are listed as planned, with the issue that adds them.
Exit status: 0 only if every implemented runtime passed every case.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPORTS = ROOT / "target" / "conformance"

# (report file stem, display name, folder whose presence means the runtime is implemented, issue)
RUNTIMES = [
    ("rust", "Rust", "core", None),
    ("python", "Python", "bindings-python", "#3"),
    ("node", "Node (napi)", "bindings-node", "#4"),
    ("wasm-node", "WASM in Node", "bindings-wasm", "#5"),
    ("wasm-chromium", "WASM in Chromium", "bindings-wasm", "#5"),
]

HOSTILE_RUNTIMES = [
    ("rust", "Rust"),
    ("cli", "CLI"),
    ("python", "Python"),
    ("node", "Node (napi)"),
    ("wasm-node", "WASM in Node"),
    ("wasm-chromium", "WASM in Chromium"),
]

SQL_RUNTIMES = [
    ("sql-duckdb", "SQL in DuckDB"),
    ("sql-postgres", "SQL in PostgreSQL"),
]


def main() -> int:
    cases = sum(len(json.loads(p.read_text())["cases"]) for p in sorted((ROOT / "tests" / "conformance").glob("*.json")))
    ok = True
    passed_all = failed_all = 0
    print()
    print("Conformance matrix (tests/conformance, %d cases)" % cases)
    print("%-18s %12s  %s" % ("runtime", "passed/total", "status"))
    for stem, name, folder, issue in RUNTIMES:
        report = REPORTS / (stem + ".json")
        if not (ROOT / folder).is_dir():
            print("%-18s %12s  %s" % (name, "-", "not built yet (binding arrives with issue %s)" % issue))
            continue
        if not report.exists():
            ok = False
            print("%-18s %12s  %s" % (name, "0/%d" % cases, "NOT RUN (counts as failure)"))
            failed_all += cases
            continue
        r = json.loads(report.read_text())
        status = "ok" if r["passed"] == r["total"] == cases else "FAILED"
        if status != "ok":
            ok = False
        passed_all += r["passed"]
        failed_all += r["total"] - r["passed"] + (cases - r["total"] if r["total"] < cases else 0)
        print("%-18s %12s  %s" % (name, "%d/%d" % (r["passed"], r["total"]), status))
    # Generated SQL runs the cases it can express (typed columns; see SPEC §21) and must agree
    # with the interpreter on every one of them.
    for stem, name in SQL_RUNTIMES:
        report = REPORTS / (stem + ".json")
        if not report.exists():
            ok = False
            print("%-18s %12s  %s" % (name, "-", "NOT RUN (counts as failure)"))
            continue
        r = json.loads(report.read_text())
        status = "ok" if r["passed"] == r["total"] and not r["failed"] else "FAILED"
        if status != "ok":
            ok = False
        print("%-18s %12s  %s (expressible in SQL, of %d)" % (name, "%d/%d" % (r["passed"], r["total"]), status, r["cases"]))
    dataset = REPORTS / "sql-dataset.json"
    if dataset.exists():
        d = json.loads(dataset.read_text())
        for engine, r in sorted(d.items()):
            print("  dataset, %-16s %d profiles × %d segments: %d mismatches vs the interpreter" % (
                engine, r["profiles"], len(r["segments"]), r["mismatches"]))
            if r["mismatches"]:
                ok = False
    # The bad-input matrix (tests/hostile): the same hostile inputs in every runtime, the same
    # error kinds, no crash, still working after each.
    hostile = json.loads((ROOT / "tests" / "hostile" / "cases.json").read_text())["cases"]
    print()
    print("Bad-input matrix (tests/hostile, %d inputs)" % len(hostile))
    for stem, name in HOSTILE_RUNTIMES:
        report = REPORTS / ("hostile-" + stem + ".json")
        if not report.exists():
            ok = False
            print("%-18s %12s  %s" % (name, "-", "NOT RUN (counts as failure)"))
            continue
        r = json.loads(report.read_text())
        status = "ok" if r["passed"] == r["total"] and not r.get("failures") else "FAILED"
        if status != "ok":
            ok = False
        print("%-18s %12s  %s" % (name, "%d/%d" % (r["passed"], r["total"]), status))
    print()
    print("conformance: %d passed, %d failed" % (passed_all, failed_all))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
