"""Prototype: JSON Logic (json-logic-js 2.0.5 semantics) -> segcore rule, exactly or not at all.

translate(rule, schema) -> (segcore_text, assumptions) or raises Refuse(reason).
membership(json-logic) := jsonLogic.truthy(jsonLogic.apply(rule, attributes))
schema: {"dotted.path": type}, type in bool int number string object list<bool|int|number|string|object>
Method: guarded evaluation. Every JSON Logic node evaluates to a list of (guard, value) pairs whose
guards partition the inputs; value is a JS constant or a non-null typed symbolic term. Variables
split on null (JS sees null for absent and null alike) and bool variables split on true/false, so
every JS coercion is decided at import time on constants; what remains symbolic is a non-null
number/string/list compared with a constant or a same-kind term, which segcore computes like JS.
Guards and predicates are TOTAL segcore expressions (never UNKNOWN), so `not` is exact.
"""
import math, re, itertools, json
from jsval import (UNDEF, norm, truthy, to_number, to_string, parse_float, loose_eq, strict_eq,
                   rel, js_type, num_to_string, is_num)

class Refuse(Exception):
    pass

MAX_BRANCHES = 256
KEYWORDS = set("and or not in between is null true false exists contains starts_with ends_with matches "
               "within before after where as_of today yesterday this_week last_week this_month last_month "
               "id at".split())
OBJ_PROTO = {"constructor", "__defineGetter__", "__defineSetter__", "hasOwnProperty", "__lookupGetter__",
             "__lookupSetter__", "isPrototypeOf", "propertyIsEnumerable", "toString", "valueOf", "__proto__",
             "toLocaleString"}
KNOWN_OPS = {"==", "===", "!=", "!==", ">", ">=", "<", "<=", "!!", "!", "%", "log", "in", "cat", "substr", "+",
             "*", "-", "/", "min", "max", "merge", "var", "missing", "missing_some", "if", "?:", "and", "or",
             "filter", "map", "reduce", "all", "none", "some"}
SAFE = 2.0 ** 53

# ---------------------------------------------------------------- segcore predicate text (total)
TRUE, FALSE = "true", "false"

def p_and(*ps):
    ps = [p for p in ps if p != TRUE]
    if any(p == FALSE for p in ps): return FALSE
    if not ps: return TRUE
    if len(ps) == 1: return ps[0]
    return " and ".join(wrap(p, "and") for p in ps)

def p_or(*ps):
    ps = [p for p in ps if p != FALSE]
    if any(p == TRUE for p in ps): return TRUE
    if not ps: return FALSE
    uniq = []
    for p in ps:
        if p not in uniq: uniq.append(p)
    if len(uniq) == 1: return uniq[0]
    return " or ".join(wrap(p, "or") for p in uniq)

def p_not(p):
    if p == TRUE: return FALSE
    if p == FALSE: return TRUE
    if p.endswith(" is null") and is_simple(p[:-8]): return p[:-8] + " is not null"
    if p.endswith(" is not null") and is_simple(p[:-12]): return p[:-12] + " is null"
    return "not (" + p + ")"

def is_simple(e): return re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*', e) is not None

def wrap(p, ctx):
    # parenthesize an operand of and/or unless it is atomic or the same operator chain
    depth = 0; top_ops = set()
    toks = re.findall(r'"(?:[^"\\]|\\.)*"|\(|\)|\band\b|\bor\b|[^\s()"]+', p)
    for t in toks:
        if t == "(": depth += 1
        elif t == ")": depth -= 1
        elif depth == 0 and t in ("and", "or"): top_ops.add(t)
    if not top_ops or top_ops == {ctx}: return p
    return "(" + p + ")"

def total(p):
    """segcore predicate that may be UNKNOWN -> TRUE iff it is TRUE."""
    return "coalesce(" + p + ", false)"

def lit_str(s):
    out = []
    for ch in s:
        if ch == '"': out.append('\\"')
        elif ch == '\\': out.append('\\\\')
        elif ch == '\n': out.append('\\n')
        elif ch == '\t': out.append('\\t')
        elif ch == '\r': out.append('\\r')
        elif ord(ch) < 0x20 or ord(ch) == 0x7f: out.append('\\u{%x}' % ord(ch))
        elif 0xD800 <= ord(ch) <= 0xDFFF: raise Refuse("lone surrogate in a string literal")
        else: out.append(ch)
    return '"' + "".join(out) + '"'

def lit_num(x):
    """A JS number as a segcore literal denoting the same f64 (SPEC §6: decimal vs float rounds to f64)."""
    if math.isnan(x) or math.isinf(x): raise Refuse("non-finite number literal")
    if x == int(x):
        if abs(x) >= SAFE: raise Refuse("integer literal beyond 2^53 (JS rounds it)")
        return str(int(x))
    s = repr(x)
    if 'e' in s:
        from decimal import Decimal
        s = format(Decimal(s), 'f')
    digits = s.replace('-', '').replace('.', '').lstrip('0')
    if len(digits) > 28: raise Refuse("number literal needs more than 28 significant digits")
    return s

# ---------------------------------------------------------------- symbolic values
class Sym:
    """A non-null value known only at run time. kind: num | str | list | obj."""
    def __init__(self, kind, expr, elem=None, intish=False, path=None):
        self.kind, self.expr, self.elem, self.intish, self.path = kind, expr, elem, intish, path
    def __repr__(self): return f"Sym({self.kind},{self.expr})"

class MissingSet:
    """Result of missing/missing_some: only its truthiness is modelled."""
    def __init__(self, pred): self.pred = pred

def truthy_pred(v):
    if isinstance(v, MissingSet): return v.pred
    if not isinstance(v, Sym): return TRUE if truthy(v) else FALSE
    if v.kind == "num": return total(f"{v.expr} != 0")
    if v.kind == "str": return total(f'{v.expr} != ""')
    if v.kind == "list": return total(f"length({v.expr}) > 0")
    return TRUE  # object

# ---------------------------------------------------------------- guards
class Guard:
    """Conjunction of facts. facts: {key: bool}; key = ("null", path) | ("bool", path) | ("pred", text)."""
    __slots__ = ("facts",)
    def __init__(self, facts=None): self.facts = dict(facts or {})
    def conj(self, other):
        f = dict(self.facts)
        for k, v in other.facts.items():
            if k in f and f[k] != v: return None
            f[k] = v
        # a bool var cannot be both null and true/false
        for (kind, path), v in f.items():
            if kind == "bool" and f.get(("null", path)) is True: return None
        return Guard(f)
    def text(self, paths):
        parts = []
        for (kind, x), v in self.facts.items():
            if kind == "null":
                if not v or ("bool", x) not in self.facts:
                    parts.append(f"{paths[x]} is null" if v else f"{paths[x]} is not null")
            elif kind == "bool":
                parts.append(f"{paths[x]} = {'true' if v else 'false'}")
            else:
                parts.append(x if v else p_not(x))
        return p_and(*parts)

def pred_cases(g, p):
    """Guarded JS booleans from a total predicate p."""
    if p == TRUE: return [(g, True)]
    if p == FALSE: return [(g, False)]
    out = []
    for val in (True, False):
        g2 = g.conj(Guard({("pred", p): val}))
        if g2 is not None: out.append((g2, val))
    return out

# ---------------------------------------------------------------- translator
class Translator:
    def __init__(self, schema, assume_no_explicit_null=False):
        self.schema = schema
        self.paths = {}          # json-logic path -> segcore path text
        self.assumptions = set()
        self.assume_no_null = assume_no_explicit_null

    # ---- variables
    def seg_path(self, path):
        segs = path.split(".")
        out = ""; prefix = ""
        for i, s in enumerate(segs):
            parent_ty = self.schema.get(prefix) if prefix else "object"
            if parent_ty is None and prefix:
                raise Refuse(f"no declared type for `{prefix}`")
            if parent_ty.startswith("list<"):
                if not re.fullmatch(r'0|[1-9][0-9]{0,8}', s):
                    raise Refuse(f"path segment `{s}` under list `{prefix}` is not a plain index (JS would read an Array property)")
                out += f"[{s}]"
            elif parent_ty == "object":
                if s in OBJ_PROTO: raise Refuse(f"path segment `{s}` is an Object.prototype property in JS")
                if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', s) or s in KEYWORDS:
                    raise Refuse(f"path segment `{s}` is not a segcore identifier")
                out += ("." if out else "") + s
            else:
                raise Refuse(f"path `{path}` descends into a {parent_ty} (JS reads String/Number properties)")
            prefix = (prefix + "." if prefix else "") + s
        return out

    def var_type(self, path):
        ty = self.schema.get(path)
        if ty is None:
            segs = path.split(".")
            parent = ".".join(segs[:-1])
            pty = self.schema.get(parent)
            if pty and pty.startswith("list<"):
                return pty[5:-1]
            raise Refuse(f"no declared type for `{path}`")
        return ty

    def read_var(self, path, default):
        if path in ("",):
            return [(Guard(), Sym("obj", "<data>"))]
        sp = self.seg_path(path)
        self.paths[path] = sp
        ty = self.var_type(path)
        cases = []
        null_val = None
        if default is not None:
            if not self.assume_no_null:
                raise Refuse("var default: JS returns the default only for an ABSENT key, null stays null; "
                             "segcore cannot tell absent from null (needs assumption: no explicit nulls)")
            self.assumptions.add("no explicit JSON null in data (absent instead)")
            null_val = default
        cases.append((Guard({("null", path): True}), null_val))
        if ty == "bool":
            cases.append((Guard({("null", path): False, ("bool", path): True}), True))
            cases.append((Guard({("null", path): False, ("bool", path): False}), False))
        elif ty in ("int", "number"):
            cases.append((Guard({("null", path): False}), Sym("num", sp, intish=True, path=path)))
        elif ty == "string":
            cases.append((Guard({("null", path): False}), Sym("str", sp, path=path)))
        elif ty.startswith("list<"):
            cases.append((Guard({("null", path): False}), Sym("list", sp, elem=ty[5:-1], path=path)))
        elif ty == "object":
            cases.append((Guard({("null", path): False}), Sym("obj", sp, path=path)))
        else:
            raise Refuse(f"type {ty} not supported")
        return cases

    # ---- evaluation
    def ev(self, node, g):
        out = self._ev(node, g)
        if len(out) > MAX_BRANCHES: raise Refuse("rule too large after case splitting")
        return out

    def ev_args(self, args, g):
        """Cartesian product of guarded argument values."""
        combos = [(g, [])]
        for a in args:
            nxt = []
            for gg, vals in combos:
                for g2, v in self.ev(a, gg):
                    nxt.append((g2, vals + [v]))
            combos = nxt
            if len(combos) > MAX_BRANCHES: raise Refuse("rule too large after case splitting")
        return combos

    def _ev(self, node, g):
        if isinstance(node, list):
            return [(gg, vals) for gg, vals in self.ev_args(node, g)]
        if not (isinstance(node, dict) and len(node) == 1):
            return [(g, norm(node))]
        op = next(iter(node)); values = node[op]
        if not isinstance(values, list): values = [values]
        if op not in KNOWN_OPS: raise Refuse(f"unknown operator `{op}` (json-logic-js throws)")
        if op in ("if", "?:"): return self.ev_if(values, g)
        if op in ("and", "or"): return self.ev_andor(op, values, g)
        if op in ("filter", "map", "reduce", "all", "none", "some"): return self.ev_scoped(op, values, g)
        out = []
        for gg, args in self.ev_args(values, g):
            if op == "var": out += self.op_var(args, gg)
            elif op == "missing": out.append((gg, self.op_missing(args)))
            elif op == "missing_some": out.append((gg, self.op_missing_some(args)))
            else: out += self.apply_op(op, args, gg)
        return out

    def sym_cases(self, g, v):
        return [(g, v)]

    def ev_if(self, values, g):
        out = []
        def chain(i, gg):
            if i >= len(values) - 1:
                if len(values) == i + 1: out.extend(self.ev(values[i], gg))
                else: out.append((gg, None))
                return
            for g2, c in self.ev(values[i], gg):
                for g3, t in pred_cases(g2, truthy_pred(c)):
                    if t: out.extend(self.ev(values[i + 1], g3))
                    else: chain(i + 2, g3)
        chain(0, g)
        return out

    def ev_andor(self, op, values, g):
        out = []
        if not values: return [(g, UNDEF)]
        def chain(i, gg):
            for g2, c in self.ev(values[i], gg):
                for g3, t in pred_cases(g2, truthy_pred(c)):
                    stop = (not t) if op == "and" else t
                    if stop or i == len(values) - 1: out.append((g3, c))
                    else: chain(i + 1, g3)
        chain(0, g)
        return out

    def ev_scoped(self, op, values, g):
        # Only constant arrays (then the predicate is evaluated on constant elements) or the
        # `some/none` + element-equality pattern over a declared list.
        out = []
        for g2, arr in self.ev(values[0] if values else None, g):
            if isinstance(arr, Sym):
                out += self.scoped_pattern(op, arr, values, g2)
                continue
            if isinstance(arr, MissingSet): raise Refuse("missing() used as a value")
            sub = Translator({}, self.assume_no_null)
            logic = values[1] if len(values) > 1 else None
            try:
                from_const = self.const_scoped(op, arr, logic, values, g2)
            except Refuse as r:
                raise Refuse(f"{op} over data needs element-wise evaluation: {r}")
            out += from_const
        return out

    def const_scoped(self, op, arr, logic, values, g):
        import subprocess
        if op == "reduce":
            init = values[2] if len(values) > 2 else None
            inits = self.ev(init, g)
            if any(isinstance(v, Sym) for _, v in inits): raise Refuse("reduce with a data-dependent initial value")
            res = []
            for g2, iv in inits:
                res.append((g2, js_eval({"reduce": [ConstRef(arr), logic, ConstRef(iv)]} if len(values) > 2 else {"reduce": [ConstRef(arr), logic]})))
            return res
        return [(g, js_eval({op: [ConstRef(arr), logic]}))]

    def scoped_pattern(self, op, arr, values, g):
        if arr.kind != "list": 
            return [(g, {"all": False, "some": False, "none": True, "filter": [], "map": [], "reduce": UNDEF}[op])] if op != "reduce" else self.ev(values[2] if len(values) > 2 else None, g)
        logic = values[1] if len(values) > 1 else None
        if op in ("some", "none") and isinstance(logic, dict) and len(logic) == 1:
            k = next(iter(logic)); a = logic[k] if isinstance(logic[k], list) else [logic[k]]
            if k in ("==", "===") and len(a) == 2:
                e = [x for x in a if x in ({"var": ""}, {"var": [""]})]
                c = [x for x in a if x not in ({"var": ""}, {"var": [""]})]
                if len(e) == 1 and len(c) == 1 and not isinstance(c[0], (dict, list)):
                    cv = norm(c[0]); el = arr.elem
                    ok = (el == "string" and isinstance(cv, str)) or (el in ("int", "number") and is_num(cv)) \
                        or (el == "bool" and isinstance(cv, bool))
                    if ok:
                        lit = lit_str(cv) if isinstance(cv, str) else ("true" if cv is True else "false" if cv is False else lit_num(cv))
                        p = total(f"{lit} in {arr.expr}")
                        self.assumptions.add(f"elements of `{arr.expr}` are {el} or null")
                        return [(g, MissingSet(p if op == "some" else p_not(p)))]
        raise Refuse(f"`{op}` over a data list: segcore has no list quantifier (only `in`)")

    # ---- operators with evaluated arguments
    def op_var(self, args, g):
        a = args[0] if args else UNDEF
        b = args[1] if len(args) > 1 else UNDEF
        if isinstance(a, Sym) or isinstance(b, Sym): raise Refuse("computed var path or default from data")
        if a is UNDEF or a == "" or a is None:
            return [(g, Sym("obj", "<data>"))]
        path = to_string(a)
        default = None if b is UNDEF else b
        out = []
        for g2, v in self.read_var(path, default):
            g3 = g.conj(g2)
            if g3 is not None: out.append((g3, v))
        return out

    def key_missing_pred(self, key):
        if isinstance(key, Sym): raise Refuse("missing() with keys from data")
        path = to_string(key)
        if path == "": raise Refuse("missing(\"\") reads the whole data")
        sp = self.seg_path(path); self.paths[path] = sp
        ty = self.var_type(path)
        if ty == "string": return p_or(f"{sp} is null", total(f'{sp} = ""'))
        return f"{sp} is null"

    def op_missing(self, args):
        keys = args[0] if args and isinstance(args[0], list) else args
        return MissingSet(p_or(*[self.key_missing_pred(k) for k in keys]))

    def op_missing_some(self, args):
        need = args[0] if args else UNDEF; opts = args[1] if len(args) > 1 else UNDEF
        if isinstance(need, Sym) or not isinstance(opts, list): raise Refuse("missing_some needs a constant count and key list")
        miss = [self.key_missing_pred(k) for k in opts]
        n = to_number(need)
        any_missing = p_or(*miss)
        if math.isnan(n): return MissingSet(any_missing)
        k = math.ceil(n)  # present >= n  <=> present >= ceil(n)
        if k <= 0: return MissingSet(FALSE)
        if k > len(opts): return MissingSet(any_missing)
        if math.comb(len(opts), k) > 64: raise Refuse("missing_some expansion too large")
        enough = p_or(*[p_and(*[p_not(miss[i]) for i in S]) for S in itertools.combinations(range(len(opts)), k)])
        return MissingSet(p_and(p_not(enough), any_missing))

    def apply_op(self, op, args, g):
        if any(isinstance(a, MissingSet) for a in args):
            if op in ("!", "!!"):
                p = truthy_pred(args[0]) if args else FALSE
                return pred_cases(g, p_not(p) if op == "!" else p)
            if op == "log": return [(g, args[0])]
            raise Refuse("missing()/list-quantifier result used as a value")
        syms = [a for a in args if isinstance(a, Sym)]
        if not syms:
            return [(g, const_apply(op, args))]
        if op == "log": return [(g, args[0])]
        if op in ("!", "!!"):
            p = truthy_pred(args[0])
            return pred_cases(g, p_not(p) if op == "!" else p)
        if op in ("==", "!=", "===", "!=="):
            a = args[0] if args else UNDEF; b = args[1] if len(args) > 1 else UNDEF
            p = self.eq_pred(a, b, strict=op in ("===", "!=="))
            return pred_cases(g, p if op in ("==", "===") else p_not(p))
        if op in ("<", "<=", ">", ">="):
            a = args[0] if args else UNDEF; b = args[1] if len(args) > 1 else UNDEF
            c = args[2] if len(args) > 2 else UNDEF
            p = self.rel_pred(op, a, b)
            if op in ("<", "<=") and c is not UNDEF:
                p = p_and(p, self.rel_pred(op, b, c))
            return pred_cases(g, p)
        if op == "in":
            return pred_cases(g, self.in_pred(args[0] if args else UNDEF, args[1] if len(args) > 1 else UNDEF))
        if op in ("+", "*", "-", "/"):
            return [(g, self.arith(op, args))]
        if op in ("min", "max"):
            raise Refuse(f"`{op}` over data (segcore has no scalar {op}; distribution into comparisons not implemented)")
        if op == "%": raise Refuse("`%` over data: segcore has no remainder operator")
        if op in ("cat", "substr", "merge"): raise Refuse(f"`{op}` over data: segcore has no string/list construction")
        raise Refuse(f"`{op}` over data not supported")

    # ---- comparisons
    def num_operand(self, s):
        if s.kind != "num": raise Refuse("internal")
        return s

    def rel_pred(self, op, a, b):
        if not isinstance(a, Sym) and not isinstance(b, Sym):
            if has_sym(a) or has_sym(b): raise Refuse("comparison with an array containing data")
            return TRUE if rel(op, a, b) else FALSE
        if has_sym(a if not isinstance(a, Sym) else b): raise Refuse("comparison with an array containing data")
        if isinstance(a, Sym) and isinstance(b, Sym):
            if a.kind == "num" and b.kind == "num":
                return total(f"{fl(a)} {op} {fl(b)}")
            if a.kind == "str" and b.kind == "str":
                self.assumptions.add("strings never mix astral characters with U+E000..U+FFFF (JS orders UTF-16 code units)")
                return total(f"{a.expr} {op} {b.expr}")
            raise Refuse(f"relational comparison of {a.kind} with {b.kind} (JS coerces through ToPrimitive/ToNumber)")
        s, c, flip = (a, b, False) if isinstance(a, Sym) else (b, a, True)
        sop = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[op] if flip else op
        if s.kind == "num":
            n = to_number(c)
            if math.isnan(n): return FALSE
            if math.isinf(n):
                # finite x: x < +inf, x > -inf
                return TRUE if (sop in ("<", "<=") and n > 0) or (sop in (">", ">=") and n < 0) else FALSE
            if abs(n) >= SAFE: return total(f"{fl(s)} {sop} {lit_num_any(n)}")
            return total(f"{s.expr} {sop} {lit_num(n)}")
        if s.kind == "str":
            pc = c if not isinstance(c, (list, dict)) else to_string(c)
            if isinstance(pc, str):
                if any(0xE000 <= ord(ch) <= 0xFFFF for ch in pc):
                    self.assumptions.add("data strings have no astral characters (JS orders UTF-16 code units)")
                return total(f"{s.expr} {sop} {lit_str(pc)}")
            raise Refuse("string attribute compared with a non-string: JS converts the string with ToNumber (numeric strings)")
        raise Refuse(f"relational comparison with a {s.kind} attribute (JS compares its ToPrimitive string)")

    def eq_pred(self, a, b, strict):
        if isinstance(a, Sym) and isinstance(b, Sym):
            if a.kind in ("list", "obj") or b.kind in ("list", "obj"):
                if a.kind == b.kind and a.path is not None and a.path == b.path: return TRUE
                if a.kind == b.kind or strict: return FALSE
                raise Refuse("loose == between a list/object and a primitive attribute")
            if a.kind == b.kind:
                return total(f"{fl(a)} = {fl(b)}" if a.kind == "num" else f"{a.expr} = {b.expr}")
            if strict: return FALSE
            raise Refuse(f"loose == between {a.kind} and {b.kind} attributes (ToNumber coercion)")
        s, c = (a, b) if isinstance(a, Sym) else (b, a)
        if c is None or c is UNDEF: return FALSE  # s is non-null
        if strict:
            if s.kind == "num" and is_num(c): return self.num_eq(s, c)
            if s.kind == "str" and isinstance(c, str): return total(f"{s.expr} = {lit_str(c)}")
            return FALSE  # different JS types, or a fresh array/object literal
        if has_sym(c): raise Refuse("equality with an array containing data")
        if s.kind == "num":
            return self.num_eq(s, to_number(c))
        if s.kind == "str":
            if isinstance(c, str): return total(f"{s.expr} = {lit_str(c)}")
            if isinstance(c, list): return total(f"{s.expr} = {lit_str(to_string(c))}")
            if isinstance(c, dict): return total(f'{s.expr} = "[object Object]"')
            raise Refuse("string attribute == number/bool: JS compares ToNumber(string) (numeric strings)")
        if s.kind in ("list", "obj"):
            if isinstance(c, (list, dict)): return FALSE  # distinct objects
            raise Refuse(f"{s.kind} attribute == primitive: JS compares its ToPrimitive string")
        raise Refuse("unsupported equality")

    def num_eq(self, s, n):
        if math.isnan(n) or math.isinf(n): return FALSE
        if abs(n) >= SAFE: return total(f"{fl(s)} = {lit_num_any(n)}")
        return total(f"{s.expr} = {lit_num(n)}")

    def in_pred(self, a, b):
        if isinstance(b, Sym):
            if b.kind == "list":
                if isinstance(a, Sym):
                    if a.kind in ("list", "obj"): return FALSE  # fresh/other objects are never === elements... unless aliasing
                    ek = {"string": "str", "int": "num", "number": "num"}.get(b.elem)
                    if ek != a.kind: 
                        if b.elem in ("bool",) : return FALSE
                        raise Refuse("`in` between attribute types that differ")
                    self.assumptions.add(f"elements of `{b.expr}` are {b.elem} or null")
                    return total(f"{a.expr} in {b.expr}")
                el = b.elem
                if a is None: raise Refuse("null `in` a data list: JS finds null elements, segcore `in` cannot")
                ok = (el == "string" and isinstance(a, str)) or (el in ("int", "number") and is_num(a)) or (el == "bool" and isinstance(a, bool))
                if not ok: return FALSE if el in ("string", "int", "number", "bool") else self._refuse_in()
                if is_num(a) and (math.isnan(a)): return FALSE
                lit = lit_str(a) if isinstance(a, str) else ("true" if a is True else "false" if a is False else lit_num(a))
                self.assumptions.add(f"elements of `{b.expr}` are {el} or null")
                return total(f"{lit} in {b.expr}")
            if b.kind == "str":
                if isinstance(a, Sym):
                    if a.kind != "str": raise Refuse("`in` with a non-string needle in a string attribute (String(x) conversion)")
                    return p_and(total(f'{b.expr} != ""'), total(f"{b.expr} contains {a.expr}"))
                needle = to_string(a)
                if needle == "": return total(f'{b.expr} != ""')
                return total(f"{b.expr} contains {lit_str(needle)}")
            if b.kind == "num": return FALSE
            raise Refuse("`in` with an object haystack (JS calls its indexOf property if the data has one)")
        # b constant
        if not truthy_js_for_in(b): return FALSE
        if isinstance(b, str):
            if a.kind == "str": return total(f"{lit_str(b)} contains {a.expr}")
            raise Refuse("`in` string haystack with a non-string attribute needle (String(x) conversion)")
        if isinstance(b, list):
            ps = []
            for el in b:
                if isinstance(el, Sym): raise Refuse("`in` list containing data")
                ps.append(self.eq_pred(a, el, strict=True))
            return p_or(*ps)
        return FALSE

    def _refuse_in(self): raise Refuse("`in` over a list of objects")

    # ---- arithmetic (JS: all in f64; segcore: force floats with `/ 1`)
    def arith(self, op, args):
        if op == "+":
            terms = [parse_float_sym(a) for a in args]
            if any(t is math.nan or (is_num(t) and math.isnan(t)) for t in terms): return math.nan
            return self.fold_chain("+", [0.0] + terms)
        if op == "*":
            if len(args) == 1: return args[0]
            if not args: raise Refuse("`*` with no arguments throws in json-logic-js")
            terms = [parse_float_sym(a) for a in args]
            if any(is_num(t) and math.isnan(t) for t in terms): return math.nan
            return self.fold_chain("*", terms)
        if op == "-":
            if len(args) == 1 or (len(args) > 1 and args[1] is UNDEF):
                t = to_number_sym(args[0])
                return -t if is_num(t) else Sym("num", f"-{fl(t)}")
            terms = [to_number_sym(args[0]), to_number_sym(args[1])]
            if any(is_num(t) and math.isnan(t) for t in terms): return math.nan
            return self.fold_chain("-", terms)
        if op == "/":
            t1, t2 = to_number_sym(args[0] if args else UNDEF), to_number_sym(args[1] if len(args) > 1 else UNDEF)
            if is_num(t1) and math.isnan(t1) or is_num(t2) and math.isnan(t2): return math.nan
            if isinstance(t2, Sym): raise Refuse("division by a data value (JS x/0 is ±Infinity/NaN, segcore null)")
            if t2 == 0: raise Refuse("division by constant zero of data")
            return self.fold_chain("/", [t1, t2])
        raise Refuse(op)

    def fold_chain(self, op, terms):
        self.assumptions.add("arithmetic results stay finite (|x| < 1.8e308)")
        acc = terms[0]
        for t in terms[1:]:
            if is_num(acc) and is_num(t):
                acc = {"+": acc + t, "*": acc * t, "-": acc - t, "/": acc / t if t else math.nan}[op]
                continue
            if is_num(acc) and op == "+" and acc == 0.0:
                acc = Sym("num", fl(t)); continue
            l = fl(acc) if isinstance(acc, Sym) else lit_num_any(acc)
            r = fl(t) if isinstance(t, Sym) else lit_num_any(t)
            acc = Sym("num", f"({l} {op} {r})")
        return acc

def lit_num_any(n):
    if math.isnan(n) or math.isinf(n): raise Refuse("non-finite intermediate")
    if n == int(n) and abs(n) < 2 ** 63: return str(int(n))
    return lit_num(n)

def fl(s, force=False):
    """Numeric term as segcore text. A data int is forced to float with `/ 1` wherever JS would do
    f64 arithmetic or compare two data values: segcore then rounds exactly like JSON.parse + f64."""
    if s.intish and is_simple(s.expr): return f"({s.expr} / 1)"
    return s.expr

def parse_float_sym(a):
    if isinstance(a, Sym):
        if a.kind == "num": return a
        raise Refuse(f"parseFloat of a {a.kind} attribute (numeric-string parsing)")
    return parse_float(a)

def to_number_sym(a):
    if isinstance(a, Sym):
        if a.kind == "num": return a
        raise Refuse(f"ToNumber of a {a.kind} attribute (numeric strings / ToPrimitive)")
    return to_number(a)

def truthy_js_for_in(b):
    """json-logic-js line 78: `if (!b || typeof b.indexOf === "undefined") return false;` (JS `!`, so [] passes)."""
    if isinstance(b, dict) and "indexOf" in b: raise Refuse("object literal with an indexOf key (json-logic-js throws)")
    if isinstance(b, list): return True
    if isinstance(b, str): return b != ""
    return False

# ---------------------------------------------------------------- constants through json-logic-js itself
_JS = None
def js_eval(rule, data=None):
    """Evaluate a data-independent subtree with json-logic-js itself (a persistent node process);
    constants are passed by reference ({"__const": i}) so arrays/objects are never re-read as logic."""
    global _JS
    import subprocess
    if _JS is None:
        _JS = subprocess.Popen(["node", "/tmp/notes/proto/jseval.js"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    consts = []
    def enc(r):
        if isinstance(r, ConstRef):
            consts.append(to_json(r.v)); return {"__const": [len(consts) - 1]}
        if isinstance(r, dict): return {k: enc(x) for k, x in r.items()}
        if isinstance(r, list): return [enc(x) for x in r]
        return r
    _JS.stdin.write(json.dumps({"rule": enc(rule), "consts": consts, "data": data}) + "\n"); _JS.stdin.flush()
    r = json.loads(_JS.stdout.readline())
    if not r["ok"]: raise Refuse("json-logic-js throws: " + r["error"])
    if r["nan"]: return math.nan
    if r["inf"]: return math.inf * r["inf"]
    if r["negzero"]: return -0.0
    return norm(r["value"]) if r["value"] != "__undefined__" else UNDEF

class ConstRef:
    def __init__(self, v): self.v = v

def has_sym(v):
    if isinstance(v, (Sym, MissingSet)): return True
    if isinstance(v, list): return any(has_sym(x) for x in v)
    if isinstance(v, dict): return any(has_sym(x) for x in v.values())
    return False

def to_json(v):
    if v is UNDEF: return {"$js": "undefined"}
    if isinstance(v, float):
        if math.isnan(v): return {"$js": "NaN"}
        if math.isinf(v): return {"$js": "Infinity" if v > 0 else "-Infinity"}
        if v == 0 and math.copysign(1, v) < 0: return {"$js": "-0"}
        if v == int(v) and abs(v) < 2**53: return int(v)
        return v
    if isinstance(v, list): return [to_json(x) for x in v]
    if isinstance(v, dict): return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, (Sym, MissingSet)): raise Refuse("an array containing data used as a constant")
    return v

def const_apply(op, args):
    """Apply a json-logic-js operation to constant (already evaluated) arguments."""
    if any(has_sym(a) for a in args): raise Refuse(f"`{op}` over an array that contains data")
    return js_eval({op: [ConstRef(a) for a in args]})

# ---------------------------------------------------------------- entry point
def translate(rule, schema, assume_no_explicit_null=False):
    t = Translator(schema, assume_no_explicit_null)
    cases = t.ev(rule, Guard())
    disj = []
    for g, v in cases:
        p = truthy_pred(v)
        if ("pred", p) in g.facts: p = TRUE if g.facts[("pred", p)] else FALSE
        if p == FALSE: continue
        disj.append(p_and(g.text(t.paths), p))
    return p_or(*disj), sorted(t.assumptions)
