#!/usr/bin/env python3
# Computes what yggdrasil (PyPI yggdrasil-engine 2.0.0) answers for every `tests` entry of the
# vendored Unleash client-specification (peers/unleash/, files listed in index.json) and writes
# peers/unleash-oracle.json, the file the Rust import tests read.
#
#   /tmp/ygg/bin/python tests/import/unleash-oracle.py           regenerate peers/unleash-oracle.json
#   /tmp/ygg/bin/python tests/import/unleash-oracle.py --check   recompute and compare (exit 1 on drift)
#
# The answers come from running the engine, never from the suite's own `expectedResult`; how many
# differ from it is printed, for information only. Every spec file with a `state` is evaluated,
# the delta-event files (19, 20: `state` is `{events: [...]}`) included, since take_state applies
# events itself. `variantTests` are not used (variants are out of the import's scope).
#
# Each case: {"file", "index", "toggle", "context", "enabled"}, plus "clock": true when the
# toggle reads the context field currentTime and the context lacks it: yggdrasil then reads the
# wall clock (for any operator, not only DATE_*), so the answer depends on when it was computed
# and a consumer skips the case. `index` is the 0-based position in the file's `tests`.

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")
SUITE = os.path.join(PEERS, "unleash")
OUT = os.path.join(PEERS, "unleash-oracle.json")


# The shared engine module sits beside this script (the script's folder is on sys.path).
import unleash_engine as ygg  # noqa: E402


def fail(message):
    print(f"unleash-oracle: {message}", file=sys.stderr)
    sys.exit(2)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def compute_cases():
    cases = []
    files = read_json(os.path.join(SUITE, "index.json"))
    for file in files:
        spec = read_json(os.path.join(SUITE, file))
        state = spec.get("state")
        if not isinstance(state, dict):
            continue
        try:
            engine = ygg.Engine(state)
        except ygg.EngineFailure as e:
            fail(f"{file}: {e}")
        for index, test in enumerate(spec.get("tests") or []):
            toggle, context = test["toggleName"], test.get("context") or {}
            expected = test["expectedResult"]
            if not isinstance(expected, bool):
                fail(f"{file} test {index}: a non-boolean expectedResult")
            try:
                enabled, found = engine.evaluate(toggle, context)
            except ygg.EngineFailure as e:
                fail(f"{file} test {index} ({toggle}): {e}")
            case = {"file": file, "index": index, "toggle": toggle, "context": context, "enabled": enabled}
            if ygg.clock_dependent(state, toggle, context):
                case["clock"] = True
            cases.append((case, {"expected": expected, "found": found, "description": test.get("description", "")}))
    return cases


def case_line(case):
    return json.dumps(case, ensure_ascii=False, separators=(",", ":"))


def render(cases):
    lines = ",\n".join(case_line(c) for c, _ in cases)
    return f'{{"engine": {json.dumps(ygg.ENGINE)}, "cases": [\n{lines}\n]}}\n'


def print_counts(cases):
    n = len(cases)
    enabled = sum(1 for c, _ in cases if c["enabled"])
    clock = sum(1 for c, _ in cases if c.get("clock"))
    unknown = sum(1 for _, info in cases if not info["found"])
    files = len({c["file"] for c, _ in cases})
    print(f"{ygg.ENGINE}: {n} tests from {files} files, {enabled} enabled, {n - enabled} not enabled")
    print(f"  {clock} clock-dependent, {unknown} name a toggle the state does not have")
    # Contexts the import's data mapping does not cover literally: the engine's context
    # deserializer reads a property named like a standard field when the top-level field is
    # absent, and a top-level key that is not a standard field as a property.
    odd = [
        c
        for c, _ in cases
        if set(c["context"]) - set(ygg.STANDARD) - {"properties"}
        or set((c["context"].get("properties") or {})) & set(ygg.STANDARD)
    ]
    print(f"  {len(odd)} contexts with a top-level custom field or a property named like a standard field")
    differ = [(c, info) for c, info in cases if c["enabled"] != info["expected"]]
    print(f"  {len(differ)} differ from the suite's expectedResult{':' if differ else ''}")
    for c, info in differ:
        print(f"    {c['file']}#{c['index']} {info['description']!r}: suite {info['expected']}, {ygg.ENGINE} {c['enabled']}")


def check(text):
    try:
        with open(OUT, encoding="utf-8") as f:
            on_disk = f.read()
    except OSError as e:
        print(f"unleash-oracle --check: cannot read {OUT}: {e}", file=sys.stderr)
        return 1
    if on_disk == text:
        print(f"unleash-oracle --check: {OUT} is up to date")
        return 0
    want, have = text.split("\n"), on_disk.split("\n")
    diffs = [i for i in range(max(len(want), len(have))) if (want[i:i + 1] or [None]) != (have[i:i + 1] or [None])]
    print(f"unleash-oracle --check: {OUT} differs from a fresh computation on {len(diffs)} line(s)", file=sys.stderr)
    if len(want) != len(have):
        print(f"  line count: file {len(have)}, computed {len(want)}", file=sys.stderr)
    for i in diffs[:5]:
        h = have[i] if i < len(have) else "<missing>"
        w = want[i] if i < len(want) else "<missing>"
        print(f"  line {i + 1}:\n    file:     {h}\n    computed: {w}", file=sys.stderr)
    print("  regenerate with: /tmp/ygg/bin/python tests/import/unleash-oracle.py", file=sys.stderr)
    return 1


def main(args):
    for a in args:
        if a != "--check":
            fail(f"unknown argument {a} (usage: unleash-oracle.py [--check])")
    cases = compute_cases()
    print_counts(cases)
    text = render(cases)
    if "--check" in args:
        return check(text)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
