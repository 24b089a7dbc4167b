#!/usr/bin/env python3
"""Prints the conformance matrix: each runtime × cases passed / total.

Every runner writes target/conformance/<runtime>.json ({"runtime", "passed", "total", "failed"}).
A runtime without a report is shown as NOT RUN and counted as a failure of the matrix, never as a
pass. Runtimes whose binding does not exist yet are listed as planned, with the issue that adds them.

The bad-input matrix (tests/hostile) has a row per runtime from target/conformance/hostile-<runtime>.json.
A case whose `runtimes` leave a runtime out (tables: no JavaScript entry point) is not counted
there, neither passed nor failed; a report whose total is not the number of cases that apply to
its runtime is a failure (a case went missing). Below the rows: how many error cases gave the same
message in every runtime that ran them, and the ones that did not (informational, not a failure:
the JavaScript bindings check some limits before crossing into the module, in their own words).
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

# The family a runtime matches in a case's `runtimes` besides its own name (tests/js/hostile-core.mjs).
HOSTILE_FAMILY = {"wasm-node": "wasm", "wasm-chromium": "wasm"}


def hostile_applies(case: dict, stem: str) -> bool:
    """Whether a tests/hostile case applies to this runtime (its `runtimes`, absent meaning all)."""
    runtimes = case.get("runtimes")
    return runtimes is None or stem in runtimes or HOSTILE_FAMILY.get(stem) in runtimes


def short(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def hostile_messages(hostile: list, reports: dict) -> None:
    """Prints how many error cases gave the same message in every runtime that ran them, and the
    messages of the ones that differ, grouped by message."""
    names = dict(HOSTILE_RUNTIMES)
    with_messages = {stem: r["messages"] for stem, r in reports.items() if isinstance(r.get("messages"), dict)}
    without = [names[stem] for stem in reports if stem not in with_messages]
    errors = [c for c in hostile if isinstance(c.get("expect"), str)]
    same, differ = 0, []
    for case in errors:
        seen = {stem: m[case["name"]] for stem, m in with_messages.items() if case["name"] in m}
        if len(set(seen.values())) <= 1:
            same += 1
        else:
            differ.append((case["name"], seen))
    print()
    print("Error messages: %d of %d error cases have the same message in every runtime that ran them%s" % (
        same, len(errors), " (%d differ; informational)" % len(differ) if differ else ""))
    if without:
        print("  (no messages recorded by: %s)" % ", ".join(without))
    for name, seen in differ:
        print("  %s:" % name)
        groups = {}
        for stem, message in seen.items():
            groups.setdefault(message, []).append(names[stem])
        for message, runtimes in groups.items():
            print("    %-28s %s" % (", ".join(runtimes) + ":", short(message)))


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
    # The columnar engine (Arrow tables in, core/tests/columnar.rs) runs every evaluation case
    # whose profile has an exact Arrow form, as a batch of one.
    report = REPORTS / "rust-columnar.json"
    if not report.exists():
        ok = False
        print("%-18s %12s  %s" % ("Rust columnar", "-", "NOT RUN (counts as failure)"))
    else:
        r = json.loads(report.read_text())
        status = "ok" if r["passed"] == r["total"] and not r["failures"] else "FAILED"
        if status != "ok":
            ok = False
        print("%-18s %12s  %s (evaluation cases as Arrow tables; %d of %d have no exact Arrow form)" % (
            "Rust columnar", "%d/%d" % (r["passed"], r["total"]), status, len(r["not_arrow"]),
            r["total"] + len(r["not_arrow"])))
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
    # SQL import (SPEC §29.5): hand-written WHERE clauses over the same dataset, the original query
    # in the engine against the interpreter and `segcore sql` of the imported definitions.
    imported = REPORTS / "sql-import-dataset.json"
    if not imported.exists():
        ok = False
        print("  SQL import round trip: NOT RUN (counts as failure)")
    else:
        d = json.loads(imported.read_text())
        for engine, r in sorted(d.items()):
            print("  SQL import round trip, %-8s %d profiles × %d imported queries: %d mismatches (original query vs interpreter vs segcore sql)" % (
                engine, r["profiles"], len(r["queries"]), r["mismatches"]))
            if r["mismatches"] or r.get("failures") or r.get("report_problems"):
                ok = False
    # Imports (SPEC §29): the peers' own suites through import + evaluation, against the reference
    # engine's output (translated / refused / wrong), and the generated differential corpus.
    print()
    print("Peer suites through `segcore import` (oracle: the reference engine itself)")
    for name, label in (("jsonlogic", "JSON Logic"), ("growthbook", "GrowthBook"), ("unleash", "Unleash")):
        peers = REPORTS / ("import-peers-%s.json" % name)
        if not peers.exists():
            ok = False
            print("%-26s %s" % (label, "NOT RUN (counts as failure)"))
        else:
            for row in json.loads(peers.read_text()):
                status = "ok" if row["wrong"] == 0 else "FAILED"
                if status != "ok":
                    ok = False
                print("%-26s %5d cases: %5d translated, %4d refused, %d wrong  %s" % (
                    row["suite"], row["cases"], row["translated"], row["refused"], row["wrong"], status))
        diff = REPORTS / ("import-differential-%s.json" % name)
        if not diff.exists():
            ok = False
            print("%-26s %s" % (label + " differential", "NOT RUN (counts as failure)"))
        else:
            d = json.loads(diff.read_text())
            status = "ok" if d["disagreements"] == 0 and d["checked"] >= 100000 else "FAILED"
            if status != "ok":
                ok = False
            print("%-26s %5d rules (%d imported), %d pairs checked against %s: %d disagreements  %s" % (
                label + " differential", d["rules"], d["imported"], d["checked"], d["engine"], d["disagreements"], status))
    # The bad-input matrix (tests/hostile): the same hostile inputs in every runtime, the same
    # error kinds, no crash, still working after each.
    hostile = json.loads((ROOT / "tests" / "hostile" / "cases.json").read_text())["cases"]
    print()
    print("Bad-input matrix (tests/hostile, %d inputs)" % len(hostile))
    hostile_reports = {}
    for stem, name in HOSTILE_RUNTIMES:
        report = REPORTS / ("hostile-" + stem + ".json")
        applicable = sum(1 for c in hostile if hostile_applies(c, stem))
        left_out = len(hostile) - applicable
        note = " (%d not applicable)" % left_out if left_out else ""
        if not report.exists():
            ok = False
            print("%-18s %12s  %s%s" % (name, "-", "NOT RUN (counts as failure)", note))
            continue
        r = json.loads(report.read_text())
        hostile_reports[stem] = r
        status = "ok" if r["passed"] == r["total"] and not r.get("failures") else "FAILED"
        if r["total"] != applicable:
            status = "FAILED (%d cases apply, the report has %d)" % (applicable, r["total"])
        if status != "ok":
            ok = False
        print("%-18s %12s  %s%s" % (name, "%d/%d" % (r["passed"], r["total"]), status, note))
    hostile_messages(hostile, hostile_reports)
    print()
    print("conformance: %d passed, %d failed" % (passed_all, failed_all))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
