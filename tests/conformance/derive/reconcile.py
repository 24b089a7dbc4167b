#!/usr/bin/env python3
"""Derives the expected values of `reconcile.json` from SPEC §24 alone (hashlib and IEEE doubles),
independently of segcore's code. Run it to print the cases; the suite holds its output."""
import hashlib, json, math, sys

M64 = (1 << 64) - 1


def digest(key, id_):
    return hashlib.sha256(f"{key}:{id_}".encode()).digest()


def lanes(key, id_):
    d = digest(key, id_)
    return [int.from_bytes(d[4 * j:4 * j + 4], "big") for j in range(4)]


def tag(key):
    return hashlib.sha256(f"segcore-key:{key}".encode()).hexdigest()[:8]


def fingerprint(ids, key="segcore"):
    ls = [0, 0, 0, 0]
    for i in ids:
        for j, h in enumerate(lanes(key, i)):
            ls[j] = (ls[j] + h) & M64
    return f"sfp1:{tag(key)}:{len(ids)}:" + ":".join(str(x) for x in ls)


def check(k):
    z = (k + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def indexes(k, m):
    i, s = 0, k
    while i < m:
        yield i
        s = (s * 0xDA942042E4DD58B5) & M64
        step = math.ceil((float(i) + 1.5) * ((2.0 ** 32) / math.sqrt(float(s) + 1.0) - 1.0))
        i += max(1, step)


def symbol(key, id_):
    return int.from_bytes(digest(key, id_)[:8], "big")


def varint(n):
    z = 2 * n if n >= 0 else -2 * n - 1
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sketch(ids, m, key="segcore"):
    cells = [[0, 0, 0] for _ in range(m)]
    for x in ids:
        k = symbol(key, x)
        for i in indexes(k, m):
            cells[i][0] ^= k
            cells[i][1] ^= check(k)
            cells[i][2] += 1
    fp = fingerprint(ids, key).split(":")
    out = bytearray(b"SEGSKT1\n")
    out += bytes.fromhex(tag(key))
    for v in fp[2:]:
        out += int(v).to_bytes(8, "little")
    out += m.to_bytes(4, "little")
    for x, c, n in cells:
        out += x.to_bytes(8, "little") + c.to_bytes(8, "little") + varint(n)
    out += hashlib.sha256(out).digest()[:8]
    return out.hex()


def case(id_, description, **kw):
    return {"id": id_, "description": description, **kw}


cases = [
    case("reconcile.fingerprint.empty", "§24: the empty set — n and every lane 0",
         query="fingerprint", ids=[], expect={"fingerprint": fingerprint([])}),
    case("reconcile.fingerprint.one", "§24: one id — its four lanes are the digest's 32-bit words",
         query="fingerprint", ids=["u1"], expect={"fingerprint": fingerprint(["u1"])}),
    case("reconcile.fingerprint.order", "§24: order does not matter",
         query="fingerprint", ids=["u3", "u1", "u2"], expect={"fingerprint": fingerprint(["u1", "u2", "u3"])}),
    case("reconcile.fingerprint.unicode", "§24: ids hashed as UTF-8 bytes, no normalisation (NFC é vs e + U+0301 differ)",
         query="fingerprint", ids=["caf\u00e9", "cafe\u0301", "\U0001F600"],
         expect={"fingerprint": fingerprint(["caf\u00e9", "cafe\u0301", "\U0001F600"])}),
    case("reconcile.fingerprint.key", "§24: another key, another tag and other lanes",
         query="fingerprint", ids=["u1", "u2"], key="crm-2026",
         expect={"fingerprint": fingerprint(["u1", "u2"], "crm-2026")}),
    case("reconcile.fingerprint.key_invalid", "§24: a key outside the allowed characters",
         query="fingerprint", ids=["u1"], key="a:b", expect={"error": {"kind": "invalid_key"}}),
    case("reconcile.fingerprint.wrap", "§24: lanes wrap mod 2^64 — 5000 ids sum past no limit, yet shards add",
         query="fingerprint_sum",
         fingerprints=[fingerprint([f"id{i}" for i in range(0, 2500)]), fingerprint([f"id{i}" for i in range(2500, 5000)])],
         expect={"fingerprint": fingerprint([f"id{i}" for i in range(5000)])}),
    case("reconcile.fingerprint.sum_three", "§24: shards combine by addition, in any grouping",
         query="fingerprint_sum",
         fingerprints=[fingerprint(["b"]), fingerprint([]), fingerprint(["a", "c"])],
         expect={"fingerprint": fingerprint(["a", "b", "c"])}),
    case("reconcile.fingerprint.sum_key_mismatch", "§24: fingerprints of different keys are refused",
         query="fingerprint_sum", fingerprints=[fingerprint(["a"]), fingerprint(["b"], "other")],
         expect={"error": {"kind": "key_mismatch"}}),
    case("reconcile.fingerprint.sum_malformed", "§24: a fingerprint that is not the text form",
         query="fingerprint_sum", fingerprints=["sfp1:00000000:1:2:3"],
         expect={"error": {"kind": "invalid_fingerprint"}}),
    case("reconcile.sketch.bytes_empty", "§24: the sketch bytes of the empty set, 2 symbols",
         query="sketch", ids=[], symbols=2, expect={"sketch": sketch([], 2)}),
    case("reconcile.sketch.bytes_three", "§24: the sketch bytes of three ids, 6 symbols (index sequences, checks, zigzag counts)",
         query="sketch", ids=["u1", "u2", "u3"], symbols=6, expect={"sketch": sketch(["u1", "u2", "u3"], 6)}),
    case("reconcile.sketch.bytes_key", "§24: another key changes symbols and tag",
         query="sketch", ids=["u1"], key="crm-2026", symbols=3, expect={"sketch": sketch(["u1"], 3, "crm-2026")}),
    case("reconcile.sketch.equal", "§24: equal sets decode to no difference",
         query="sketch_diff", a=["u1", "u2", "u3"], b=["u3", "u2", "u1"], symbols=4,
         expect={"difference": {"only_a": [], "only_b": []}}),
    case("reconcile.sketch.one_each", "§24: one id on each side, 8 symbols",
         query="sketch_diff", a=["u1", "u2", "u3"], b=["u1", "u2", "u4"], symbols=8,
         expect={"difference": {"only_a": ["u3"], "only_b": ["u4"]}}),
    case("reconcile.sketch.single_symbol", "§24: one difference decodes from coded symbol 0 alone",
         query="sketch_diff", a=["u1", "u2"], b=["u1"], symbols=1,
         expect={"difference": {"only_a": ["u2"], "only_b": []}}),
    case("reconcile.sketch.too_small", "§24: two differences cannot come out of one coded symbol: N = 2 is never pure",
         query="sketch_diff", a=["u1", "u2", "u3"], b=["u1"], symbols=1,
         expect={"error": {"kind": "sketch_undecodable"}}),
    case("reconcile.sketch.lengths", "§24: sketches of different lengths decode over the shorter",
         query="sketch_diff", a=[f"id{i}" for i in range(40)], b=[f"id{i}" for i in range(3, 45)], symbols_a=64, symbols_b=30,
         expect={"difference": {"only_a": ["id0", "id1", "id2"], "only_b": [f"id{i}" for i in range(40, 45)]}}),
    case("reconcile.sketch.many", "§24: 300 differences on each side over 1000 symbols",
         query="sketch_diff", a=[f"a{i}" for i in range(300)] + [f"s{i}" for i in range(500)],
         b=[f"b{i}" for i in range(300)] + [f"s{i}" for i in range(500)], symbols=1000,
         expect={"difference": {"only_a": sorted(f"a{i}" for i in range(300)), "only_b": sorted(f"b{i}" for i in range(300))}}),
    case("reconcile.sketch.key_mismatch", "§24: sketches made with different keys are refused",
         query="sketch_decode", sketch_a=sketch(["u1"], 2), sketch_b=sketch(["u1"], 2, "other"),
         expect={"error": {"kind": "key_mismatch"}}),
    case("reconcile.sketch.truncated", "§24: a truncated sketch is refused, not decoded",
         query="sketch_decode", sketch_a=sketch(["u1"], 2)[:-20], sketch_b=sketch(["u1"], 2),
         expect={"error": {"kind": "sketch_invalid"}}),
    case("reconcile.sketch.corrupt", "§24: a flipped byte fails the checksum",
         query="sketch_decode", sketch_a=sketch(["u1"], 2)[:130] + ("0" if sketch(["u1"], 2)[130] != "0" else "1") + sketch(["u1"], 2)[131:],
         sketch_b=sketch(["u1"], 2), expect={"error": {"kind": "sketch_invalid"}}),
    case("reconcile.sketch.magic", "§24: another file is not a sketch",
         query="sketch_decode", sketch_a=b"id\nu1\nu2\n".hex(), sketch_b=sketch(["u1"], 2),
         expect={"error": {"kind": "sketch_invalid"}}),
]

suite = {"suite": "reconcile", "description": "Fingerprints and sketches, SPEC §24 (derived by derive/reconcile.py from the SPEC with hashlib)", "cases": cases}
json.dump(suite, sys.stdout, indent=1, ensure_ascii=False)
print()
