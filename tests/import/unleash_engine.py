# The reference engine for `segcore import --from unleash`: Unleash's yggdrasil, through the PyPI
# package yggdrasil-engine 2.0.0 (Python bindings over a prebuilt libyggdrasilffi; the library
# inside is the crate unleash-yggdrasil 0.21.5). unleash-oracle.py and unleash-conformance.py
# evaluate through this module, so the membership convention lives in one place.
#
# Not importable by name (the file name has a hyphen, like the other tests/import scripts); load
# it with importlib (see unleash-oracle.py). Standard library + yggdrasil_engine only.
#
# Membership: the toggle is enabled for the context: UnleashEngine.check_enabled(...).is_enabled
# on an engine that took exactly this state (check_enabled, unlike is_enabled, records no metrics).
# A toggle the state does not have is not enabled (`found` is False). The bindings never raise
# and log a warning instead; any such warning is turned into an exception here, and a state the
# engine silently rejects (take_state ignores a document it cannot deserialize, e.g. a parameter
# that is a JSON number) is an exception too, so no answer ever comes from a failed evaluation.

import importlib.metadata
import json
import logging

PACKAGE = "yggdrasil-engine"
PINNED = "2.0.0"

try:
    VERSION = importlib.metadata.version(PACKAGE)
except importlib.metadata.PackageNotFoundError:
    raise SystemExit(
        f"{PACKAGE} is not installed: python3 -m venv /tmp/ygg && "
        f"/tmp/ygg/bin/pip install {PACKAGE}=={PINNED}, then run this script with /tmp/ygg/bin/python"
    )
# Another release may answer edge cases differently (the grammar, the context deserializer and
# the bundled regex/semver/chrono crates all change between releases): refuse to run rather than
# write answers for the wrong engine.
if VERSION != PINNED:
    raise SystemExit(f"expected {PACKAGE} {PINNED}, found {VERSION}: pip install {PACKAGE}=={PINNED}")

from yggdrasil_engine.engine import UnleashEngine  # noqa: E402

ENGINE = f"{PACKAGE} {VERSION}"

# The six context fields that are not properties (unleash-types' Context).
STANDARD = ("userId", "sessionId", "environment", "appName", "remoteAddress", "currentTime")


class EngineFailure(Exception):
    pass


class _Raise(logging.Handler):
    def emit(self, record):
        raise EngineFailure(record.getMessage())


_logger = logging.getLogger("yggdrasil_engine.engine")
_logger.addHandler(_Raise(level=logging.WARNING))
_logger.propagate = False


def feature_view(state):
    """(features by name, segments by id) of a state: a `{features, segments}` document, or a
    delta-event document `{events: [...]}` applied in order (hydration replaces everything,
    feature-updated / segment-updated upsert, feature-removed deletes)."""
    if "events" not in state:
        features = {f["name"]: f for f in state.get("features") or []}
        segments = {s["id"]: s for s in state.get("segments") or []}
        return features, segments
    features, segments = {}, {}
    for event in state["events"]:
        kind = event.get("type")
        if kind == "hydration":
            features = {f["name"]: f for f in event.get("features") or []}
            segments = {s["id"]: s for s in event.get("segments") or []}
        elif kind == "feature-updated":
            features[event["feature"]["name"]] = event["feature"]
        elif kind == "feature-removed":
            features.pop(event["featureName"], None)
        elif kind == "segment-updated":
            segments[event["segment"]["id"]] = event["segment"]
        elif kind == "segment-removed":
            segments.pop(event.get("segmentId"), None)
    return features, segments


class Engine:
    """One yggdrasil engine holding one state."""

    def __init__(self, state):
        self.state = state
        self.engine = UnleashEngine()
        self.warnings = self.engine.take_state(json.dumps(state))
        features, _ = feature_view(state)
        known = {d.name for d in self.engine.list_known_toggles()}
        if known != set(features):
            raise EngineFailure(
                f"the engine did not take the state: it knows {sorted(known)}, the state has {sorted(features)}"
            )

    def evaluate(self, toggle, context):
        """(enabled, found) for one context (a JSON object as the Unleash SDKs send it)."""
        result = self.engine.check_enabled(toggle, json.loads(json.dumps(context)))
        return result.is_enabled, result.is_found


def effective_standard(context, name):
    """Whether the engine sees the standard field `name` in `context`, following unleash-types'
    Context deserializer (which the engine runs on every context): the top-level key if it is
    there (a null there hides the property), else a property of the same name; a string, number
    or boolean is a value, null or an object is none."""
    scalar = lambda v: isinstance(v, (str, int, float, bool))  # noqa: E731
    if name in context:
        return scalar(context[name])
    props = context.get("properties")
    return isinstance(props, dict) and name in props and scalar(props[name])


def reads_current_time(state, toggle):
    """Whether evaluating `toggle` may read the context field currentTime: a constraint (of the
    toggle's strategies, their segments, or a parent toggle's, through dependencies) on
    contextName currentTime, or a stickiness of currentTime. yggdrasil reads the wall clock for
    that field whenever the context lacks it, whatever the operator (wall-clock feature,
    strategy_parsing.rs Rule::current_time), so such an answer depends on when it is computed."""
    features, segments = feature_view(state)
    seen = set()

    def visit(name):
        if name in seen or name not in features:
            return False
        seen.add(name)
        feature = features[name]
        for strategy in feature.get("strategies") or []:
            constraints = list(strategy.get("constraints") or [])
            for sid in strategy.get("segments") or []:
                constraints += (segments.get(sid) or {}).get("constraints") or []
            if any(c.get("contextName") == "currentTime" for c in constraints):
                return True
            if (strategy.get("parameters") or {}).get("stickiness") == "currentTime":
                return True
        return any(visit(d.get("feature")) for d in feature.get("dependencies") or [])

    return visit(toggle)


def clock_dependent(state, toggle, context):
    return reads_current_time(state, toggle) and not effective_standard(context or {}, "currentTime")


def number_text(value):
    """The text an SDK would send for a number attribute: the shortest form that reads back."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"not a number: {value!r}")
    return str(value) if isinstance(value, int) else repr(value)


def context_of(attributes, schema=None):
    """The Unleash context for segcore profile attributes (the import's data mapping): the
    standard fields at the top level, every other attribute under `properties`, all as strings
    (a `number` attribute as its text); null or absent attributes are left out."""
    types = (schema or {}).get("attributes", {})
    context, props = {}, {}
    for name, value in attributes.items():
        if value is None:
            continue
        if types.get(name) == "number":
            text = number_text(value)
        elif isinstance(value, str):
            text = value
        else:
            raise ValueError(f"attribute {name}: an Unleash context value is a string, not {value!r}")
        (context if name in STANDARD else props)[name] = text
    if props:
        context["properties"] = props
    return context
