#!/usr/bin/env python3
"""Load on `segcore serve` (issue #17's benchmark, SPEC §28), measured with wrk on 127.0.0.1.

    python3 scripts/bench-serve.py [SECONDS]      # default 10 s per scenario; CONNECTIONS=16 by default

The README test command runs it for 1 s on the debug build (SEGCORE_BIN) as a smoke test: every
answer checked, no failed request under load.

Serves the demo registry (the 11 bundled segments) from a release build and drives:
  * POST /evaluate with one 50-event demo profile (and its FX quotes) — target ≥ 5,000 req/s, p99 ≤ 10 ms;
  * GET /bundle with If-None-Match naming the current bundle (304s) — target ≥ 20,000 req/s.
Also checks every answer: the evaluate body equals the core's (`segcore eval` on the same profile),
and wrk must report no non-2xx/3xx responses and no socket errors. Load generator and service share
the machine's cores (wrk on one thread), so the numbers are a floor for a dedicated host.

Needs wrk (apt install wrk; installed here when missing and running as root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-03-15T12:00:00Z"
CONNECTIONS = int(os.environ.get("CONNECTIONS", "16"))
TARGETS = {"evaluate": (5000.0, 10.0), "bundle 304": (20000.0, None)}


def wrk_bin() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is not installed: apt install wrk")
    return found


def parse_wrk(out: str) -> dict:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rate": rate,
        "p50": ms("50"),
        "p99": ms("99"),
        "bad": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    # SEGCORE_BIN: the test command's smoke run uses the debug build (its numbers mean nothing).
    exe = Path(os.environ.get("SEGCORE_BIN", ROOT / "target" / "release" / "segcore"))
    if not exe.exists():
        sys.exit("build it first: cargo build --release -p segcore-cli")
    if "release" not in exe.parts:
        print(f"NOTE: {exe} is not a release build: a smoke run, not a measurement")
    wrk = wrk_bin()
    tmp = Path(tempfile.mkdtemp(prefix="segcore-bench-serve-"))
    subprocess.run([str(exe), "demo", "--out", str(tmp / "demo"), "--profiles", "300", "--format", "jsonl"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    demo = tmp / "demo"
    profiles = [json.loads(line) for line in (demo / "profiles.jsonl").read_text().splitlines()]
    events = [json.loads(line) for line in (demo / "events.jsonl").read_text().splitlines()]
    # One profile with exactly 50 events: its own, then other entities' renamed to it.
    profile = profiles[0]
    own = [e for e in events if e["entity_id"] == profile["id"]]
    rest = [e for e in events if e["entity_id"] != profile["id"]]
    chosen = (own + rest)[:50]
    profile["events"] = [{k: v for k, v in e.items() if k != "entity_id"} for e in chosen]
    fx = json.loads((demo / "fx.json").read_text())
    body = json.dumps({"profile": profile, "as_of": AS_OF, "fx": fx})
    (tmp / "body.json").write_text(body)
    (tmp / "profile.jsonl").write_text(json.dumps(profile) + "\n")
    (tmp / "post.lua").write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = io.open("{tmp / "body.json"}"):read("*a")\n'
    )

    server = subprocess.Popen(
        [str(exe), "serve", str(demo / "segments"), "--schema", str(demo / "schema.yaml"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        url = server.stdout.readline().strip().rsplit(" ", 1)[-1]
        import urllib.request

        req = urllib.request.Request(f"{url}/evaluate", data=body.encode(), headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(req).read())
        # The service's answer is the CLI's (the core's) for the same profile, context and registry.
        cli = subprocess.run(
            [str(exe), "eval", "--segments", str(demo / "segments"), "--schema", str(demo / "schema.yaml"),
             "--profiles", str(tmp / "profile.jsonl"), "--as-of", AS_OF, "--fx", str(demo / "fx.json"),
             "--format", "jsonl", "--out", "/dev/stdout"],
            check=True, capture_output=True, text=True,
        )
        rows = [json.loads(line) for line in cli.stdout.splitlines()]
        assert answer["outcomes"] == {r["segment_id"]: r["outcome"] for r in rows}, (answer, rows)
        expected = sorted(r["segment_id"] for r in rows if r["member"])
        assert answer["members"] == expected, answer
        bundle_hash = answer["bundle"]
        print(f"segcore serve {url}: 11 demo segments, a 50-event profile (members: {', '.join(expected) or 'none'})")
        print(f"bundle {bundle_hash[:16]}…; wrk, 1 thread, {CONNECTIONS} connections, {seconds} s per scenario\n")

        results = {}
        for name, args in (
            ("evaluate", ["-s", str(tmp / "post.lua"), f"{url}/evaluate"]),
            ("bundle 304", ["-H", f'If-None-Match: "{bundle_hash}"', f"{url}/bundle"]),
        ):
            out = subprocess.run([wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", *args],
                                 check=True, capture_output=True, text=True).stdout
            results[name] = parse_wrk(out)
            time.sleep(0.5)
    finally:
        server.kill()
        server.wait()

    print(f"{'scenario':<12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'target':>22} {'ratio':>7}")
    failed = False
    for name, r in results.items():
        want_rate, want_p99 = TARGETS[name]
        target = f"≥ {want_rate:,.0f}/s" + (f", p99 ≤ {want_p99:g} ms" if want_p99 else "")
        ratio = r["rate"] / want_rate
        print(f"{name:<12} {r['rate']:>10,.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {target:>22} {ratio:>6.1f}×")
        if r["bad"] or r["socket_errors"]:
            failed = True
            print(f"  {r['bad']} non-2xx/3xx responses, {r['socket_errors']} socket errors")
    if failed:
        sys.exit("some requests failed")


if __name__ == "__main__":
    main()
