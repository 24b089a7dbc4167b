"""Classify every peer-suite case with the prototype translator and check exactness with segcore.
For each case: schema inferred from its data (absent/null attributes: first type that translates);
translation -> segcore rule; then the rule is evaluated by the segcore release binary on the case's
own data AND on a pool of generated profiles conforming to the schema, and compared with
jsonLogic.truthy(json-logic-js result)."""
import json, sys, os, subprocess, random, itertools, collections, shutil, math
sys.path.insert(0, '/tmp/notes/proto')
from jl2seg import translate, Refuse, js_eval, KNOWN_OPS
import jl2seg

SEG = '/work/main/target/release/segcore'
A = json.load(open('/tmp/notes/jl/actual_cmp.json')) if __name__ == '__main__' else []
random.seed(7)

def jtype(v):
    if isinstance(v, bool): return "bool"
    if isinstance(v, int): return "int"
    if isinstance(v, float): return "number"
    if isinstance(v, str): return "string"
    if isinstance(v, list):
        ts = {jtype(x) for x in v if x is not None}
        if ts == {"int", "number"}: ts = {"number"}
        if len(ts) > 1: return "list<any>"
        return "list<%s>" % (ts.pop() if ts else "string")
    if isinstance(v, dict): return "object"
    return None

def flatten(d, prefix="", out=None):
    out = {} if out is None else out
    if isinstance(d, dict):
        for k, v in d.items():
            p = prefix + ("." if prefix else "") + k
            t = jtype(v)
            if t: out[p] = t
            if isinstance(v, dict): flatten(v, p, out)
    return out

def static_paths(r, out):
    if isinstance(r, dict) and len(r) == 1:
        k = next(iter(r)); v = r[k]; vs = v if isinstance(v, list) else [v]
        if k in ("filter", "map", "reduce", "all", "none", "some"):
            if vs: static_paths(vs[0], out)
            for x in vs[2:]: static_paths(x, out)
            return out
        if k == "var" and vs and isinstance(vs[0], (str, int, float)) and not isinstance(vs[0], bool) and vs[0] != "":
            out.add(str(vs[0]))
        if k == "missing":
            def strings(x):
                if isinstance(x, str): out.add(x)
                elif isinstance(x, list): [strings(y) for y in x]
                elif isinstance(x, dict) and len(x) == 1 and next(iter(x)) in ("merge", "if", "?:"):
                    v = next(iter(x.values())); [strings(y) for y in (v if isinstance(v, list) else [v])]
            strings(vs)
        if k == "missing_some" and len(vs) > 1 and isinstance(vs[1], list):
            for x in vs[1]:
                if isinstance(x, str): out.add(x)
        for x in vs: static_paths(x, out)
    elif isinstance(r, list):
        for x in r: static_paths(x, out)
    return out

def try_translate(rule, data):
    base = flatten(data) if isinstance(data, dict) else {}
    free = sorted(p for p in static_paths(rule, set()) if p not in base or data_get(data, p) is None)
    for p in list(base):
        if data_get(data, p) is None: base.pop(p)
    # declare parents of nested free paths as objects
    last = None
    for combo in itertools.product(["int", "string", "bool"], repeat=min(len(free), 4)):
        schema = dict(base)
        for p, t in zip(free, combo + ("int",) * (len(free) - len(combo))):
            segs = p.split(".")
            for i in range(1, len(segs)):
                schema.setdefault(".".join(segs[:i]), "object")
            schema.setdefault(p, t)
        try:
            text, assum = translate(rule, schema)
            return text, assum, schema
        except Refuse as r:
            last = r
        if not free: break
    raise last

def data_get(d, path):
    cur = d
    for s in path.split("."):
        if isinstance(cur, dict) and s in cur: cur = cur[s]
        elif isinstance(cur, list) and s.isdigit() and int(s) < len(cur): cur = cur[int(s)]
        else: return None
    return cur

POOL = {
    "int": [0, 1, -1, 2, 3, 17, 18, 19, 21, 100, 110, -5, 9007199254740993],
    "number": [0, 1, -1, 18, 0.5, 1.5, -0.5, 0.1, 2.675, 18.0, 100.25],
    "string": ["", "a", "apple", "0", "1", "18", "abc", " ", "A", "é", "null", "true", "pie", "cherry", "yes", "x y"],
    "bool": [True, False],
    "list<string>": [[], ["a"], ["vip", "x"], ["apple", None], ["b", "a"]],
    "list<int>": [[], [1], [1, 2, 3], [0], [-1, 5]],
    "list<number>": [[], [1.5], [1, 2.5]],
    "list<bool>": [[], [True], [False, True]],
}

def gen_profiles(schema, n=40):
    tops = sorted(p for p in schema if "." not in p)
    profs = []
    for i in range(n):
        prof = {}
        def fill(prefix, obj):
            for p in sorted(schema):
                if "." in p[len(prefix):] if prefix else "." in p: continue
                if prefix and not p.startswith(prefix + "."): continue
                key = p[len(prefix) + 1:] if prefix else p
                if "." in key: continue
                t = schema[p]
                r = random.random()
                if r < 0.12: continue            # absent
                if r < 0.22: obj[key] = None; continue
                if t == "object":
                    sub = {}; fill(p, sub); obj[key] = sub
                elif t in POOL: obj[key] = random.choice(POOL[t])
                else: obj[key] = None
        fill("", prof)
        profs.append(prof)
    return profs

def seg_schema(schema):
    out = {}
    for p, t in schema.items():
        if "." in p: continue
        out[p] = t if t in ("bool", "int", "number", "string", "object") or t.startswith("list<") and t != "list<any>" else "any"
    return {"attributes": out}

def seg_eval(rule_text, schema, profiles):
    d = '/tmp/notes/proto/work'
    shutil.rmtree(d, ignore_errors=True); os.makedirs(d + '/reg')
    json.dump({"id": "s", "version": "1.0.0", "rule": rule_text}, open(d + '/reg/s.json', 'w'))
    json.dump(seg_schema(schema), open(d + '/schema.json', 'w'))
    with open(d + '/p.jsonl', 'w') as f:
        for i, p in enumerate(profiles): f.write(json.dumps({"id": f"p{i}", "attributes": p}) + "\n")
    r = subprocess.run([SEG, 'eval', '--segments', d + '/reg', '--schema', d + '/schema.json', '--profiles', d + '/p.jsonl',
                        '--as-of', '2026-01-01T00:00:00Z', '--out', d + '/o.jsonl', '--keep-going', '--errors', d + '/e.jsonl'],
                       capture_output=True, text=True)
    if not os.path.exists(d + '/o.jsonl'):
        return None, r.stderr.strip()[-400:]
    res = {}
    for l in open(d + '/o.jsonl'):
        o = json.loads(l); res[o['entity_id']] = o['member']
    errs = open(d + '/e.jsonl').read() if os.path.exists(d + '/e.jsonl') else ""
    return [res.get(f"p{i}") for i in range(len(profiles))], errs

def js_truthy(rule, data):
    jl2seg.js_eval.__globals__  # ensure started
    try:
        v = js_eval_raw(rule, data)
    except Exception as e:
        return "throws"
    return v

def js_eval_raw(rule, data):
    import jl2seg as J
    if J._JS is None: J.js_eval(True)
    J._JS.stdin.write(json.dumps({"rule": rule, "consts": [], "data": data}) + "\n"); J._JS.stdin.flush()
    r = json.loads(J._JS.stdout.readline())
    if not r["ok"]: return "throws"
    from jsval import truthy, norm, UNDEF
    v = r["value"]
    if r["nan"]: return False
    return truthy(norm(v)) if v != "__undefined__" else False

def family(c):
    s = c['suite']
    if s in ('tests.json', 'compatible.json'):
        return s + ' :: ' + (c['section'] or '')[:60]
    return s

def main():
    results = []
    for c in A:
        rule, data = c['rule'], c.get('data')
        rec = {"suite": c['suite'], "family": family(c), "rule": rule, "data": data}
        act = c['actual']
        reads = bool(static_paths(rule, set())) or '"var"' in json.dumps(rule) or '"missing' in json.dumps(rule)
        rec['reads'] = reads
        if not act['ok']:
            rec['class'] = 'refuse'; rec['reason'] = 'json-logic-js throws: ' + act['error'][:60]
            results.append(rec); continue
        try:
            text, assum, schema = try_translate(rule, data)
            rec.update(text=text, assumptions=assum, schema=schema)
            rec['class'] = 'translate-const' if text in ('true', 'false') and not reads else 'translate'
        except Refuse as r:
            rec['class'] = 'refuse'; rec['reason'] = str(r)
        results.append(rec)

    # exactness check on translated, data-reading rules
    checked = collections.Counter(); mism = []
    for rec in results:
        if rec['class'] != 'translate': continue
        d = rec['data']
        if d is not None and not isinstance(d, dict):
            rec['check'] = 'data not an object'; continue
        profiles = [d if isinstance(d, dict) else {}] + gen_profiles(rec['schema'])
        if rec['data'] is None and '"var": ""' in json.dumps(rec['rule']):
            profiles = profiles[1:]
        got, errs = seg_eval(rec['text'], rec['schema'], profiles)
        if got is None:
            rec['check'] = 'segcore rejected: ' + errs; mism.append(rec); continue
        bad = []
        for p, g in zip(profiles, got):
            want = js_eval_raw(rec['rule'], p)
            if want == "throws": continue
            if bool(g) != bool(want): bad.append((p, g, want))
        rec['check'] = f"{len(profiles)} profiles, {len(bad)} mismatches"
        checked['profiles'] += len(profiles); checked['rules'] += 1
        if bad:
            rec['bad'] = bad[:3]; mism.append(rec)

    json.dump(results, open('/tmp/notes/proto/results.json', 'w'), indent=1, default=str)
    print("checked", dict(checked), "mismatching rules", len(mism))
    for m in mism[:30]:
        print(json.dumps(m['rule'])[:120], '\n   ->', m.get('text', '')[:200], '\n   ', m.get('check'), m.get('bad', '')[:2] if m.get('bad') else '', m.get('assumptions'))

if __name__ == "__main__":
    main()
