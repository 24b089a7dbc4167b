#!/usr/bin/env bash
# Builds the Node native module: bindings-node/segcore.node (napi-rs, release profile).
# Idempotent; installs Node.js and npm from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "==> installing nodejs and npm (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

echo "==> cargo build --release -p segcore-node"
cargo build --release -p segcore-node
target_dir="${CARGO_TARGET_DIR:-target}"
# Copy then rename: a running process keeps its mapping of the old file intact.
cp "$target_dir/release/libsegcore_node.so" bindings-node/segcore.node.tmp
strip --strip-debug bindings-node/segcore.node.tmp 2>/dev/null || true
mv -f bindings-node/segcore.node.tmp bindings-node/segcore.node
# index.js is the Node backend of the JS API shared with the WASM build (bindings-wasm/js, package
# segcore-js-api): a `file:` dependency, linked here (nothing is copied; no network needed).
(cd bindings-node && npm install --no-audit --no-fund --silent)
echo "built bindings-node/segcore.node ($(du -h bindings-node/segcore.node | cut -f1))"
