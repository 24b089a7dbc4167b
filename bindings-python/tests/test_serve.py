"""The registry service (``segcore serve``, SPEC §28) from Python: the endpoints through httpx, and
``Registry.subscribe`` following publications — each swap whole, a broken bundle never swapped in,
and evaluations during publications that each name one bundle and agree with it."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

import segcore

REPO = Path(__file__).resolve().parents[2]

PROFILE = {
    "id": "u1",
    "attributes": {"age": 30},
    "events": [{"name": "purchase", "at": "2026-03-10T00:00:00Z", "properties": {"amount": 550}}],
}
AS_OF = "2026-03-20T00:00:00Z"


def _cli() -> Path:
    found = [REPO / "target" / p / "segcore" for p in ("release", "debug")]
    found = [p for p in found if p.is_file()]
    if not found:
        pytest.fail("the segcore CLI is not built (target/{release,debug}/segcore); the README test command builds it")
    return max(found, key=lambda p: p.stat().st_mtime)


def _bundle(tmp: Path, threshold: int, version: str) -> str:
    """Publishes the test registry at `threshold` as `live.json` (atomically); its bundle hash."""
    reg = segcore.Registry.from_definitions(
        [
            {"id": "adults", "version": "1.0.0", "rule": "age >= 18"},
            {"id": "big_spender", "version": version, "rule": f"sum(purchase.amount within 30d) > {threshold}"},
        ]
    )
    (tmp / "next.json").write_text(reg.to_bundle())
    os.replace(tmp / "next.json", tmp / "live.json")
    return reg.bundle_hash


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    _bundle(tmp_path, 500, "1.0.0")
    proc = subprocess.Popen(
        [str(_cli()), "serve", str(tmp_path / "live.json"), "--listen", "127.0.0.1:0", "--poll", "50ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), line
        yield url, tmp_path
    finally:
        proc.kill()
        proc.wait()


def test_endpoints_through_httpx(service: tuple[str, Path]) -> None:
    url, tmp = service
    with httpx.Client(base_url=url, timeout=10) as http:
        bundle = http.get("/bundle")
        assert bundle.status_code == 200
        reg = segcore.Registry.from_bundle(bundle.content)
        assert bundle.headers["etag"] == f'"{reg.bundle_hash}"'
        assert http.get("/bundle", headers={"If-None-Match": bundle.headers["etag"]}).status_code == 304

        r = http.post("/evaluate", json={"profile": PROFILE, "as_of": AS_OF})
        assert r.status_code == 200
        body = r.json()
        # The service's answer is the wheel's answer on the same bundle.
        assert body["bundle"] == reg.bundle_hash
        assert {k: v == "true" for k, v in body["outcomes"].items()} == reg.evaluate(PROFILE, AS_OF)
        assert body["members"] == ["adults", "big_spender"]

        bad = http.post("/evaluate", content=b"{oops", headers={"content-type": "application/json"})
        assert (bad.status_code, bad.json()["error"]["kind"]) == (400, "invalid_request")
        stale = http.post("/evaluate", json={"profile": PROFILE, "as_of": AS_OF}, headers={"If-Match": '"abc"'})
        assert (stale.status_code, stale.json()["error"]["kind"]) == (412, "bundle_mismatch")
        big = http.post("/evaluate", content=b"x" * (2 << 20))
        assert (big.status_code, big.json()["error"]["kind"]) == (413, "body_too_large")
        assert http.get("/segments/nope").json()["error"]["kind"] == "unknown_segment"
        segs = http.get("/segments").json()
        assert [s["id"] for s in segs["segments"]] == ["adults", "big_spender"]
        assert http.get("/health").json()["bundle"] == reg.bundle_hash


def test_subscribe_swaps_whole_bundles(service: tuple[str, Path]) -> None:
    url, tmp = service
    changes: list[str] = []
    sub = segcore.Registry.subscribe(url, wait=5, on_change=lambda r: changes.append(r.bundle_hash))
    with sub:
        first = sub.bundle_hash
        assert isinstance(sub.registry, segcore.Registry)
        assert sub.evaluate(PROFILE, AS_OF) == {"adults": True, "big_spender": True}

        second = _bundle(tmp, 600, "1.1.0")
        assert sub.wait_for(second, timeout=20) == second
        assert sub.evaluate(PROFILE, AS_OF) == {"adults": True, "big_spender": False}
        assert changes == [second] and sub.updates == 1 and sub.last_error is None
        assert first != second

        # A bundle that fails to compile never reaches the subscriber: the service refuses to
        # publish it (and says so), the subscriber keeps its registry.
        (tmp / "next.json").write_text((tmp / "live.json").read_text().replace("> 600", "> "))
        os.replace(tmp / "next.json", tmp / "live.json")
        deadline = time.time() + 20
        while httpx.get(f"{url}/health").json()["last_error"] is None:
            assert time.time() < deadline
            time.sleep(0.05)
        with pytest.raises(TimeoutError):
            sub.wait_for(timeout=1)
        assert sub.bundle_hash == second

        third = _bundle(tmp, 700, "1.2.0")
        assert sub.wait_for(third, timeout=20) == third


def test_evaluations_during_publications_each_see_one_bundle(service: tuple[str, Path]) -> None:
    url, tmp = service
    sub = segcore.Registry.subscribe(url, wait=5)
    hashes = {500: sub.bundle_hash}
    seen: list[tuple[str, bool]] = []
    stop = threading.Event()

    def evaluate() -> None:
        while not stop.is_set():
            reg = sub.registry  # one bundle for this evaluation
            seen.append((reg.bundle_hash, reg.evaluate(PROFILE, AS_OF)["big_spender"]))

    workers = [threading.Thread(target=evaluate) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        for threshold, version in ((600, "1.1.0"), (540, "1.2.0"), (560, "1.3.0")):
            hashes[threshold] = _bundle(tmp, threshold, version)
            sub.wait_for(hashes[threshold], timeout=20)
            time.sleep(0.1)
    finally:
        stop.set()
        for w in workers:
            w.join()
        sub.close()
    expected = {h: 550 > t for t, h in hashes.items()}
    assert {h for h, _ in seen} == set(hashes.values())
    for h, member in seen:
        assert member == expected[h], h


def test_subscribe_to_nothing_fails_at_once() -> None:
    with pytest.raises(OSError):
        segcore.Registry.subscribe("http://127.0.0.1:9", timeout=2)


def test_a_corrupted_bundle_is_refused_and_retried(tmp_path: Path) -> None:
    """A proxy that serves a cut bundle: the subscriber keeps the last good one, reports
    ``bundle_invalid`` and recovers once a whole bundle comes back."""
    import http.server

    good = segcore.Registry.from_definitions([{"id": "a", "version": "1.0.0", "rule": "age >= 18"}])
    newer = segcore.Registry.from_definitions([{"id": "a", "version": "1.1.0", "rule": "age >= 21"}])
    state = {"hash": good.bundle_hash, "body": good.to_bundle().encode()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/changes"):
                after = self.path.split("after=")[1].split("&")[0]
                if after == state["hash"]:
                    time.sleep(0.2)
                    self.send_response(204)
                    self.end_headers()
                    return
                body = json.dumps({"bundle": state["hash"]}).encode()
            else:
                body = state["body"]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    errors: list[BaseException] = []
    try:
        sub = segcore.Registry.subscribe(f"http://127.0.0.1:{server.server_port}", wait=1, on_error=errors.append)
        text = newer.to_bundle()
        state.update(hash=newer.bundle_hash, body=text[: len(text) // 2].encode())
        deadline = time.time() + 20
        while not errors:
            assert time.time() < deadline
            time.sleep(0.05)
        assert isinstance(errors[0], segcore.DefinitionError) and errors[0].kind == "bundle_invalid"
        assert sub.bundle_hash == good.bundle_hash
        assert sub.evaluate({"id": "u", "attributes": {"age": 19}}, AS_OF) == {"a": True}
        state["body"] = text.encode()
        assert sub.wait_for(newer.bundle_hash, timeout=20) == newer.bundle_hash
        assert sub.evaluate({"id": "u", "attributes": {"age": 19}}, AS_OF) == {"a": False}
        assert sub.last_error is None
        sub.close()
    finally:
        server.shutdown()
