"""JS value semantics needed by the JSON Logic -> segcore prototype (json-logic-js 2.0.5).
Values: None = null, UNDEF = undefined, bool, float (all JS numbers), str, list, dict."""
import math, re

class _Undef:
    def __repr__(self): return "undefined"
UNDEF = _Undef()

JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

def norm(v):
    """JSON-decoded value -> JS value (numbers become float)."""
    if isinstance(v, bool) or v is None or isinstance(v, str) or v is UNDEF: return v
    if isinstance(v, (int, float)): return float(v)
    if isinstance(v, list): return [norm(x) for x in v]
    if isinstance(v, dict): return {k: norm(x) for k, x in v.items()}
    return v

def is_num(v): return isinstance(v, float)

def truthy(v):
    if isinstance(v, list): return len(v) > 0
    if v is None or v is UNDEF or v is False: return False
    if v is True: return True
    if is_num(v): return not (v == 0 or math.isnan(v))
    if isinstance(v, str): return v != ""
    return True  # objects

_DEC = re.compile(r'^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$')
def string_to_number(s):
    s = s.strip(JS_WS)
    if s == "": return 0.0
    if re.fullmatch(r'[+-]?Infinity', s): return -math.inf if s[0] == '-' else math.inf
    m = re.fullmatch(r'0[xX]([0-9a-fA-F]+)', s)
    if m: return float(int(m.group(1), 16))
    m = re.fullmatch(r'0[oO]([0-7]+)', s)
    if m: return float(int(m.group(1), 8))
    m = re.fullmatch(r'0[bB]([01]+)', s)
    if m: return float(int(m.group(1), 2))
    if _DEC.match(s): return float(s)
    return math.nan

_PF = re.compile(r'^[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)')
def parse_float(v):
    s = to_string(v).lstrip(JS_WS)
    m = _PF.match(s)
    if not m:
        return math.nan
    t = m.group(0)
    # the exponent part must have digits; regex above requires them, but "1e" must parse as 1
    if t.endswith("Infinity"): return -math.inf if t[0] == '-' else math.inf
    return float(t)

def num_to_string(x):
    if math.isnan(x): return "NaN"
    if x == 0: return "0"
    if math.isinf(x): return "Infinity" if x > 0 else "-Infinity"
    if x < 0: return "-" + num_to_string(-x)
    r = repr(x)  # shortest round-trip digits
    if 'e' in r or 'E' in r:
        mant, exp = r.split('e'); e = int(exp)
    else:
        mant, e = r, 0
    if '.' in mant:
        ip, fp = mant.split('.')
    else:
        ip, fp = mant, ''
    digits = (ip + fp).lstrip('0')
    # position of decimal point relative to digits start
    lead_zeros = len(ip + fp) - len((ip + fp).lstrip('0'))
    n = len(ip) + e - lead_zeros  # decimal exponent: value = 0.digits * 10^n
    digits = digits.rstrip('0') or '0'
    k = len(digits)
    if k <= n <= 21: return digits + '0' * (n - k)
    if 0 < n <= 21: return digits[:n] + '.' + digits[n:]
    if -6 < n <= 0: return '0.' + '0' * (-n) + digits
    e2 = n - 1
    sign = '+' if e2 >= 0 else '-'
    if k == 1: return digits + 'e' + sign + str(abs(e2))
    return digits[0] + '.' + digits[1:] + 'e' + sign + str(abs(e2))

def to_string(v):
    if v is None: return "null"
    if v is UNDEF: return "undefined"
    if v is True: return "true"
    if v is False: return "false"
    if is_num(v): return num_to_string(v)
    if isinstance(v, str): return v
    if isinstance(v, list): return ",".join("" if (x is None or x is UNDEF) else to_string(x) for x in v)
    return "[object Object]"

def to_primitive(v):
    if isinstance(v, (list, dict)): return to_string(v)
    return v

def to_number(v):
    v = to_primitive(v)
    if v is None: return 0.0
    if v is UNDEF: return math.nan
    if v is True: return 1.0
    if v is False: return 0.0
    if is_num(v): return v
    return string_to_number(v)

def js_type(v):
    if v is None: return "null"
    if v is UNDEF: return "undefined"
    if isinstance(v, bool): return "boolean"
    if is_num(v): return "number"
    if isinstance(v, str): return "string"
    return "object"

def strict_eq(a, b):
    if js_type(a) != js_type(b): return False
    if isinstance(a, (list, dict)): return a is b
    return a == b  # NaN != NaN holds for floats

def loose_eq(a, b):
    ta, tb = js_type(a), js_type(b)
    if ta == tb: return strict_eq(a, b)
    if ta in ("null", "undefined") and tb in ("null", "undefined"):
        return True
    if ta in ("null", "undefined") or tb in ("null", "undefined"): return False
    if ta == "number" and tb == "string": return a == string_to_number(b)
    if ta == "string" and tb == "number": return string_to_number(a) == b
    if ta == "boolean": return loose_eq(1.0 if a else 0.0, b)
    if tb == "boolean": return loose_eq(a, 1.0 if b else 0.0)
    if ta == "object" and tb in ("number", "string"): return loose_eq(to_primitive(a), b)
    if tb == "object" and ta in ("number", "string"): return loose_eq(a, to_primitive(b))
    return False

def utf16_key(s):
    return s.encode('utf-16-be')

def less_than(a, b):
    """Abstract relational comparison a < b; returns True, False, or None (undefined: NaN)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str) and not isinstance(pa, bool) and not isinstance(pb, bool):
        return utf16_key(pa) < utf16_key(pb)
    na, nb = to_number(pa), to_number(pb)
    if math.isnan(na) or math.isnan(nb): return None
    return na < nb

def rel(op, a, b):
    if op == '<': r = less_than(a, b); return r is True
    if op == '>': r = less_than(b, a); return r is True
    if op == '<=': r = less_than(b, a); return r is False
    if op == '>=': r = less_than(a, b); return r is False
    raise ValueError(op)
