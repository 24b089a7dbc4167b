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

step "Rust: unit, property, CLI and conformance tests"
cargo test --workspace

step "Rust: conformance suite, per suite"
cargo test -q -p segcore --test conformance -- --nocapture 2>&1 | grep -E '^\s+[a-z_]+\s+[0-9]+/[0-9]+$|^conformance' || true

step "conformance matrix"
python3 scripts/conformance_matrix.py
