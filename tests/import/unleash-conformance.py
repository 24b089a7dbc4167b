#!/usr/bin/env python3
# Checks the hand-derived `import.unleash.*` cases of the conformance file against yggdrasil
# (yggdrasil-engine 2.0.0, through unleash_engine.py): every listed member must be what the engine
# answers for the toggle, with the member's attributes turned back into an Unleash context (the
# standard fields at the top level, everything else under `properties`, all strings: a `number`
# attribute as its text). For a refusal, the path must point into the source at a strategy or a
# constraint. Nothing is written.
#
#   /tmp/ygg/bin/python tests/import/unleash-conformance.py [FILE]   (default tests/conformance/import.json)
#
# FILE is the conformance file, or a bare JSON array of cases (for checking new cases before
# they are appended). Exit 1 on any disagreement.

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "conformance", "import.json")


# The shared engine module sits beside this script (the script's folder is on sys.path).
import unleash_engine as ygg  # noqa: E402


def pointer(doc, path):
    if not path.startswith("/"):
        raise KeyError(path)
    for raw in path[1:].split("/"):
        step = raw.replace("~1", "/").replace("~0", "~")
        doc = doc[int(step)] if isinstance(doc, list) else doc[step]
    return doc


def check_case(case):
    """A list of problems (empty when the case agrees with the engine)."""
    source = case["source"]
    if "features" in source:
        features, segments = source["features"], source.get("segments") or []
    else:
        features, segments = [source], []
    state = {"version": 2, "features": features, "segments": segments}
    toggle = case.get("toggle") or (features[0]["name"] if len(features) == 1 else None)
    if toggle is None:
        return ["several features and no `toggle`"]
    try:
        engine = ygg.Engine(state)
    except ygg.EngineFailure as e:
        return [f"the engine rejects the source: {e}"]
    expect = case["expect"]
    if "error" in expect:
        try:
            node = pointer(source, expect["error"]["path"])
        except (KeyError, IndexError, ValueError):
            return [f"the path {expect['error']['path']} is not in the source"]
        if not (isinstance(node, dict) and ("operator" in node or "name" in node)):
            return [f"the path {expect['error']['path']} is not a constraint or a strategy"]
        return []
    problems = []
    for m in expect["import"]["members"]:
        context = ygg.context_of(m["attributes"], case.get("schema"))
        if ygg.clock_dependent(state, toggle, context):
            problems.append(f"{json.dumps(m['attributes'])}: the engine reads the wall clock")
            continue
        enabled, found = engine.evaluate(toggle, context)
        if not found:
            problems.append(f"the engine does not know the toggle {toggle!r}")
        elif enabled != m["member"]:
            problems.append(f"{json.dumps(m['attributes'])} → context {json.dumps(context)}: case says {m['member']}, {ygg.ENGINE} {enabled}")
    return problems


def main(args):
    path = args[0] if args else DEFAULT
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    cases = doc["cases"] if isinstance(doc, dict) else doc
    cases = [c for c in cases if c.get("from") == "unleash"]
    bad = 0
    members = 0
    for case in cases:
        problems = check_case(case)
        if "import" in case["expect"]:
            members += len(case["expect"]["import"]["members"])
        for p in problems:
            print(f"{case['id']}: {p}")
        bad += bool(problems)
    print(f"{ygg.ENGINE}: {len(cases)} unleash cases ({members} members), {bad} disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
