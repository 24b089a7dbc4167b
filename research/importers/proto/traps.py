"""Trap corpus: rules whose naive translation differs from json-logic-js. For each: the prototype's
translation (or refusal), and segcore-vs-json-logic-js membership over generated schema-conforming
profiles; where given, the same count for the naive translation."""
import json, sys, random
sys.path.insert(0, '/tmp/notes/proto')
from jl2seg import translate, Refuse
import run_suites as R

R.POOL["string"] += ["10", "9", " 12 ", "0x10", "1e3", "\U0001F600", "\uffff", "Z", "b", "ab", "nul", "vip"]
R.POOL["int"] += [9007199254740992, -9007199254740993, 65]
R.POOL["number"] += [9007199254740993.0, 1e300, -0.0, 0.30000000000000004, 3.3]

V = lambda p: {"var": p}
TRAPS = [
  ("! over comparison, missing var", {"!": {">": [V("age"), 18]}}, {"age": "int"}, "not (age > 18)"),
  ("< with missing var (null -> 0)", {"<": [V("age"), 18]}, {"age": "int"}, "age < 18"),
  ("<= with negative literal", {"<=": [V("age"), -1]}, {"age": "int"}, "age <= -1"),
  (">= 0 with missing var", {">=": [V("age"), 0]}, {"age": "int"}, "age >= 0"),
  ("between (3-arg <)", {"<": [18, V("age"), 65]}, {"age": "int"}, "age > 18 and age < 65"),
  ("3-arg > ignores 3rd", {">": [V("age"), 18, 1000]}, {"age": "int"}, None),
  ("== null literal", {"==": [V("x"), None]}, {"x": "string"}, "x is null"),
  ("!= literal, missing var", {"!=": [V("country"), "US"]}, {"country": "string"}, 'country != "US"'),
  ("var == var both missing", {"==": [V("a"), V("b")]}, {"a": "int", "b": "int"}, "a = b"),
  ("var == var, ints beyond 2^53", {"==": [V("a"), V("b")]}, {"a": "int", "b": "int"}, "a = b"),
  ("== number vs numeric-string literal", {"==": [V("age"), "18"]}, {"age": "int"}, "age = 18"),
  ("== bool var vs 1", {"==": [V("flag"), 1]}, {"flag": "bool"}, "flag = true"),
  ("== bool var vs \"\"", {"==": [V("flag"), ""]}, {"flag": "bool"}, None),
  ("string var == number (numeric strings)", {"==": [V("s"), 10]}, {"s": "string"}, None),
  ("string var > number", {">": [V("s"), 9]}, {"s": "string"}, None),
  ("string var < string literal", {"<": [V("s"), "b"]}, {"s": "string"}, 's < "b"'),
  ("string < literal with U+FFFF", {"<": [V("s"), "\uffff"]}, {"s": "string"}, 's < "\uffff"'),
  ("truthy int var in and", {"and": [V("n"), {"==": [V("c"), "US"]}]}, {"n": "int", "c": "string"}, 'n != 0 and c = "US"'),
  ("truthy string var in if", {"if": [V("s"), "yes", ""]}, {"s": "string"}, 's != ""'),
  ("or returns value: coalesce-like", {"==": [{"or": [V("tier"), "free"]}, "free"]}, {"tier": "string"}, 'coalesce(tier, "free") = "free"'),
  ("in: null needle in string literal", {"in": [V("x"), "nullable"]}, {"x": "string"}, '"nullable" contains x'),
  ("in: needle in list literal with null", {"in": [V("x"), [None, "a"]]}, {"x": "string"}, 'x in [null, "a"]'),
  ("in: literal in list attribute", {"in": ["vip", V("tags")]}, {"tags": "list<string>"}, '"vip" in tags'),
  ("!in: literal not in list attribute", {"!": {"in": ["vip", V("tags")]}}, {"tags": "list<string>"}, 'not ("vip" in tags)'),
  ("in: \"\" in string attribute", {"in": ["", V("s")]}, {"s": "string"}, 's contains ""'),
  ("in: substring of string attribute", {"in": ["ap", V("s")]}, {"s": "string"}, 's contains "ap"'),
  ("- with missing var (null -> 0)", {">": [{"-": [V("x"), 1]}, -2]}, {"x": "int"}, "x - 1 > -2"),
  ("+ with missing var (NaN)", {"<": [{"+": [V("x"), 1]}, 5]}, {"x": "int"}, "x + 1 < 5"),
  ("* int attr by decimal", {">": [{"*": [V("x"), 1.1]}, 3.3]}, {"x": "int"}, "x * 1.1 > 3.3"),
  ("+ float attr and decimal", {">": [{"+": [V("f"), 0.2]}, 0.3]}, {"f": "number"}, "f + 0.2 > 0.3"),
  ("int beyond 2^53 vs literal 2^53", {">": [V("x"), 9007199254740992]}, {"x": "int"}, "x > 9007199254740992"),
  ("/ by data (x/0 = Infinity)", {">": [{"/": [100, V("d")]}, 5]}, {"d": "int"}, "100 / d > 5"),
  ("% (no segcore remainder)", {"==": [{"%": [V("x"), 2]}, 0]}, {"x": "int"}, None),
  ("var default with explicit null", {"==": [{"var": ["plan", "free"]}, "free"]}, {"plan": "string"}, 'coalesce(plan, "free") = "free"'),
  ("missing counts \"\" as missing", {"!": {"missing": ["email"]}}, {"email": "string"}, "email is not null"),
  ("missing_some 1 of 2", {"!": {"missing_some": [1, ["email", "phone"]]}}, {"email": "string", "phone": "string"}, None),
  ("substr over data", {"==": [{"substr": [V("s"), 0, 3]}, "nul"]}, {"s": "string"}, None),
  ("cat over data", {"==": [{"cat": ["a", V("s")]}, "ab"]}, {"s": "string"}, None),
  ("max over data", {">": [{"max": [V("a"), V("b")]}, 10]}, {"a": "int", "b": "int"}, None),
  ("tags.length path", {">": [V("tags.length"), 0]}, {"tags": "list<string>"}, None),
  ("constructor path", {"!!": V("constructor")}, {"constructor": "string"}, None),
  ("list index path", {"==": [V("tags.0"), "vip"]}, {"tags": "list<string>"}, 'tags[0] = "vip"'),
  ("string attr == list literal [\"a\"]", {"==": [V("s"), ["a"]]}, {"s": "string"}, None),
  ("some over list<int> with ==", {"some": [V("xs"), {"==": [V(""), 3]}]}, {"xs": "list<int>"}, None),
  ("all over list", {"all": [V("xs"), {">": [V(""), 0]}]}, {"xs": "list<int>"}, None),
  ("!! of empty-list attr", {"!!": V("xs")}, {"xs": "list<int>"}, "length(xs) > 0"),
  ("if with missing-var comparison", {"if": [{">": [V("age"), 18]}, "adult", {"<": [V("age"), 13]}, "child", "teen"]}, {"age": "int"}, None),
  ("== number var vs float literal", {"==": [V("f"), 0.30000000000000004]}, {"f": "number"}, None),
]

def check(rule, schema, text, n=300):
    profiles = R.gen_profiles(schema, n)
    got, errs = R.seg_eval(text, schema, profiles)
    if got is None: return f"segcore rejects: {errs[-160:]}", []
    bad = []
    for p, g in zip(profiles, got):
        w = R.js_eval_raw(rule, p)
        if w == "throws": continue
        if bool(g) != bool(w): bad.append((p, g, w))
    return f"{len(bad)}/{len(profiles)} mismatches" + (f" (+{errs.count(chr(10))} eval errors)" if errs else ""), bad

random.seed(11)
rows = []
for name, rule, schema, naive in TRAPS:
    try:
        text, assum = translate(rule, schema)
        res, bad = check(rule, schema, text)
        out = {"trap": name, "rule": rule, "schema": schema, "translation": text, "assumptions": assum, "exact_check": res}
        if bad: out["bad_examples"] = [[json.dumps(b[0]), b[1], b[2]] for b in bad[:3]]
    except Refuse as r:
        out = {"trap": name, "rule": rule, "schema": schema, "refused": str(r)}
    if naive:
        res, bad = check(rule, schema, naive)
        out["naive"] = naive; out["naive_check"] = res
        if bad: out["naive_example"] = [json.dumps(bad[0][0]), bad[0][1], bad[0][2]]
    rows.append(out)
    print(json.dumps(out, ensure_ascii=False))
json.dump(rows, open('/tmp/notes/proto/traps_out.json', 'w'), indent=1, ensure_ascii=False)
