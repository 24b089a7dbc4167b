"""Following a registry service (``segcore serve``, SPEC §28) from Python.

Transport only: the bundle is loaded by the Rust core (``Registry.from_bundle``), which refuses a
changed, cut or uncompilable bundle whole. Standard library HTTP (``urllib``), no dependency.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any, Callable, Dict, Optional

from ._native import Registry


class Subscription:
    """A registry that follows a ``segcore serve`` service (see ``Registry.subscribe``).

    ``registry`` is always one whole bundle: each new bundle is loaded completely, then swapped in
    with one assignment, so an evaluation that took ``sub.registry`` once sees exactly one bundle
    (its ``bundle_hash`` says which). A bundle that does not load is not swapped in: the previous
    registry stays, ``last_error`` says why and the subscription retries with backoff.
    """

    def __init__(
        self,
        url: str,
        *,
        wait: float = 30.0,
        timeout: float = 10.0,
        on_change: Optional[Callable[[Registry], None]] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._wait = float(wait)
        self._timeout = float(timeout)
        self._on_change = on_change
        self._on_error = on_error
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.last_error: Optional[BaseException] = None
        self.updates = 0
        # The first bundle is loaded before returning: a subscription always has a registry.
        first = self._load(None)
        assert first is not None  # no If-None-Match: never a 304
        self._registry: Registry = first
        self._thread = threading.Thread(target=self._follow, name="segcore-subscribe", daemon=True)
        self._thread.start()

    @property
    def registry(self) -> Registry:
        """The current registry (one whole bundle)."""
        return self._registry

    @property
    def bundle_hash(self) -> str:
        """The hash of the current bundle."""
        return self._registry.bundle_hash

    def evaluate(self, profile: Any, as_of: Any = None, **kwargs: Any) -> Dict[str, bool]:
        """``Registry.evaluate`` on the current bundle (take ``sub.registry`` once to also know
        which bundle answered)."""
        return self._registry.evaluate(profile, as_of, **kwargs)

    def wait_for(self, bundle_hash: Optional[str] = None, timeout: float = 30.0) -> str:
        """Blocks until the current bundle is ``bundle_hash`` (or, without one, until the next
        swap) and returns its hash; ``TimeoutError`` otherwise."""
        with self._changed:
            start = self.updates
            done = (lambda: self.bundle_hash == bundle_hash) if bundle_hash else (lambda: self.updates > start)
            if not self._changed.wait_for(done, timeout):
                raise TimeoutError(
                    f"bundle {bundle_hash or '(next)'} did not arrive within {timeout}s "
                    f"(current {self.bundle_hash}; last error: {self.last_error!r})"
                )
            return self.bundle_hash

    def close(self) -> None:
        """Stops following the service (the current registry stays usable)."""
        self._stop.set()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<segcore.Subscription {self.url} bundle={self.bundle_hash[:12]} updates={self.updates}>"

    def _get(self, path: str, headers: Dict[str, str], timeout: float) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            if e.code == 304:
                return 304, b""
            raise

    def _load(self, current: Optional[str]) -> Optional[Registry]:
        """The bundle, loaded whole by the core; None when it is still ``current`` (304)."""
        headers = {"If-None-Match": f'"{current}"'} if current else {}
        status, body = self._get("/bundle", headers, self._timeout)
        if status == 304:
            return None
        return Registry.from_bundle(body)

    def _follow(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                started = time.monotonic()
                query = urllib.parse.urlencode({"after": self.bundle_hash, "wait": self._wait})
                status, body = self._get(f"/changes?{query}", {}, self._wait + self._timeout)
                if status == 204 or self._stop.is_set():
                    # A short (or zero) wait must not turn into a busy loop.
                    self._stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))
                    continue
                announced = json.loads(body)["bundle"]
                if announced == self.bundle_hash:
                    continue
                registry = self._load(self.bundle_hash)
                if registry is None or self._stop.is_set():
                    continue
                with self._changed:
                    self._registry = registry  # the swap: one assignment
                    self.updates += 1
                    self.last_error = None
                    self._changed.notify_all()
                backoff = 0.5
                if self._on_change is not None:
                    try:
                        self._on_change(registry)
                    except Exception as e:  # noqa: BLE001 - the caller's callback, not a follow failure
                        warnings.warn(f"segcore.Subscription: on_change raised {e!r}", RuntimeWarning, stacklevel=1)
            except Exception as e:  # noqa: BLE001 - the subscription must outlive any failure
                self.last_error = e
                if self._on_error is not None:
                    try:
                        self._on_error(e)
                    except Exception:  # noqa: BLE001
                        pass
                with self._changed:
                    self._changed.notify_all()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
