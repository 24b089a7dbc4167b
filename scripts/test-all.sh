#!/usr/bin/env bash
# Runs every test in every runtime and ends with the conformance matrix.
# Installs what it needs on a fresh Debian machine; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    step "installing a Rust toolchain from Debian (rustc-web, cargo-web)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends rustc-web cargo-web
fi
if ! command -v python3 >/dev/null 2>&1; then
    step "installing python3 (for the conformance matrix)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3
fi

# The conformance reports of this run only: a stale report must never count.
rm -rf target/conformance

step "format and lint"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

# The Kafka tests start a real Apache Kafka broker (4.x, KRaft) from its Maven Central jars.
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    step "installing Java 17 and Maven (the Kafka test broker)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless maven >/dev/null
fi
step "resolving the Apache Kafka broker's jars (scripts/kafka-test-broker.sh install apache)"
KAFKA_BROKER_IMPL=apache bash scripts/kafka-test-broker.sh install apache

step "Rust: unit, property, CLI (file and Kafka stream routes) and conformance tests"
cargo test --workspace

step "Import: against the reference engines themselves (json-logic-js, @growthbook/growthbook): their answers to the peer suites re-checked; generated rule × data corpora, fixed seeds — more by hand with --seed"
(cd tests/import && npm ci --no-audit --no-fund --silent)
node tests/import/jsonlogic-oracle.mjs --check
node tests/import/growthbook-oracle.mjs --check
mkdir -p target/import
node tests/import/jsonlogic-differential.mjs --rules 4000 --data 48 --seed 1 --out target/import/jsonlogic-differential.jsonl
node tests/import/growthbook-differential.mjs --rules 4000 --data 40 --seed 1 --out target/import/growthbook-differential.jsonl
SEGCORE_IMPORT_DIFFERENTIAL_JSONLOGIC=target/import/jsonlogic-differential.jsonl \
SEGCORE_IMPORT_DIFFERENTIAL_GROWTHBOOK=target/import/growthbook-differential.jsonl \
    cargo test -q -p segcore --test import_peers -- --ignored --nocapture 2>&1 | grep -E 'differential:|WRONG|test result'
SEGCORE_EXPORT_PAIRS=target/import/export-pairs.jsonl cargo test -q -p segcore --test import_export 2>&1 | grep -E 'test result'
node tests/import/export-check.mjs target/import/export-pairs.jsonl
test -s target/conformance/import-differential-jsonlogic.json
test -s target/conformance/import-differential-growthbook.json

step "Registry service under load (scripts/bench-serve.py; a 1 s smoke run on the debug build — numbers by hand on a release build)"
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
SEGCORE_BIN=target/debug/segcore python3 scripts/bench-serve.py 1

step "Fuzzing: replay fuzz/regressions, then every cargo-fuzz target for 30 s with a fixed seed (FUZZING.md; long runs by hand: scripts/fuzz.sh 3600)"
FUZZ_SEED=1 scripts/fuzz.sh 30

step "Python: build the wheel with maturin, install it in a fresh venv, run pytest (incl. SQL in DuckDB, PostgreSQL, Spark; scenario 2 on Kafka)"
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3-venv python3-pip
fi
# The SQL differential tests start a throwaway PostgreSQL server; Spark local mode needs a JVM.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql openjdk-17-jre-headless >/dev/null
fi
venv=target/py-venv
python3 -m venv --clear "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.5,<2" "pytest>=7" "pandas<3" pyarrow polars \
    "duckdb==2.0.1" pytz "psycopg[binary]" sqlglot httpx "pyspark==4.3.0" matplotlib "confluent-kafka==2.16.1" \
    "yggdrasil-engine==2.0.0"
rm -rf target/wheels
"$venv/bin/maturin" build --release -q -m bindings-python/Cargo.toml -o target/wheels
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps target/wheels/segcore-*.whl
# Scenario 2 (test_scenario2_kafka.py) runs the Node service of examples/scenario2 (kafkajs).
(cd examples/scenario2 && npm install --no-audit --no-fund --silent)
# Unleash's engine (yggdrasil) answers the client-specification and the hand-derived import cases
# itself: the answers the Rust tests read are re-checked here. The generated differential (random
# toggles × contexts, yggdrasil against the imported definitions) writes its own report.
"$venv/bin/python" tests/import/unleash-oracle.py --check
"$venv/bin/python" tests/import/unleash-conformance.py
"$venv/bin/python" tests/import/unleash-differential.py
# The SQL import cases' expected outcomes, re-checked by DuckDB and PostgreSQL themselves.
CI=true "$venv/bin/python" tests/import/sql-conformance.py --check
# Spark tests must run here, never skip (a skipped runtime is not a passing one).
SEGCORE_REQUIRE_SPARK=1 "$venv/bin/python" -m pytest bindings-python/tests -q -p no:cacheprovider

step "Node: build the native module (napi-rs), run node --test (conformance, API, example service)"
scripts/build-node.sh
node --test bindings-node/tests/

step "WASM: build (wasm32 with build-std, wasm-bindgen glue), run node --test (Node and headless Chromium)"
scripts/build-wasm.sh
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
(cd bindings-wasm && npm install --no-audit --no-fund --silent)
node --test bindings-wasm/tests/

step "JS: the Node binding and the WASM build export the same API (tests/js/*.test.mjs)"
node --test tests/js/

step "Rust: conformance suite, per suite"
cargo test -q -p segcore --test conformance -- --nocapture 2>&1 | grep -E '^\s+[a-z_]+\s+[0-9]+/[0-9]+$|^conformance' || true

step "conformance matrix"
python3 scripts/conformance_matrix.py
