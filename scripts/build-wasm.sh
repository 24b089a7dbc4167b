#!/usr/bin/env bash
# Builds the WebAssembly binding: bindings-wasm/pkg/{web,node}/ (wasm-bindgen glue + .wasm).
# Idempotent; on a fresh Debian machine it installs what it needs:
#   - rustc-web + rust-web-src + lld-22 (apt): rustup here has no wasm32 target, so the standard
#     library is built from Debian's source with -Zbuild-std (see ../shared/notes/wasm-toolchain.md);
#   - wasm-bindgen-cli at exactly the crate's wasm-bindgen version (cargo install, cached outside
#     the repository in $SEGCORE_TOOLS, default ~/.cache/segcore/tools);
#   - nodejs/npm (apt) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130 # keep equal to the pin in bindings-wasm/Cargo.toml
TOOLS="${SEGCORE_TOOLS:-$HOME/.cache/segcore/tools}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if ! grep -q "wasm-bindgen = { version = \"=$WASM_BINDGEN_VERSION\"" bindings-wasm/Cargo.toml; then
    echo "build-wasm.sh: WASM_BINDGEN_VERSION ($WASM_BINDGEN_VERSION) differs from bindings-wasm/Cargo.toml" >&2
    exit 1
fi

need_apt=()
for pkg in rustc-web cargo-web rust-web-src lld-22 binaryen; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "==> installing ${need_apt[*]} (apt)"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

WASM_BINDGEN="$TOOLS/bin/wasm-bindgen"
if ! { [ -x "$WASM_BINDGEN" ] && "$WASM_BINDGEN" --version | grep -qF " $WASM_BINDGEN_VERSION"; }; then
    echo "==> installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $TOOLS (once, ~3 minutes)"
    # No --locked: the CLI's lockfile can name versions the registry mirror lacks.
    cargo install -q wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --root "$TOOLS"
fi

# Panics abort without formatting a message (-Cpanic=immediate-abort, 60 KiB less gzipped): the
# core never panics on input (property tests), and a panic in wasm is a trap either way.
# A target dir of its own: another compiler and linker would otherwise invalidate the host build.
TARGET_DIR="${CARGO_TARGET_DIR:-target}/wasm"
echo "==> cargo build -p segcore-wasm --target wasm32-unknown-unknown (build-std, profile wasm-release)"
RUSTC_BOOTSTRAP=1 cargo build -q -p segcore-wasm --profile wasm-release \
    --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort \
    --target-dir "$TARGET_DIR" \
    --config 'build.rustc="/usr/bin/rustc"' \
    --config 'target.wasm32-unknown-unknown.linker="wasm-ld-22"' \
    --config 'target.wasm32-unknown-unknown.rustflags=["-Zunstable-options", "-Cpanic=immediate-abort"]'
WASM="$TARGET_DIR/wasm32-unknown-unknown/wasm-release/segcore_wasm.wasm"

# Debian's wasm-opt (binaryen 108) must run before wasm-bindgen: after it, it breaks the glue's
# function table. Features are read from the module's target_features section.
echo "==> wasm-opt -Oz"
wasm-opt -Os --strip-debug --strip-producers "$WASM" -o "$TARGET_DIR/segcore_wasm.opt.wasm"
WASM="$TARGET_DIR/segcore_wasm.opt.wasm"

echo "==> wasm-bindgen --target web, then the glue as a factory (pkg/glue.mjs)"
out=bindings-wasm/pkg
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
"$WASM_BINDGEN" --target web --out-name segcore_wasm --out-dir "$out.tmp/web" "$WASM"
# One glue for browsers and Node (js/web.mjs, js/node.mjs), made into a factory so a trapped
# instance can be replaced by a fresh one (js/api.mjs; see the tool's header).
node bindings-wasm/tools/glue-factory.mjs "$out.tmp/web/segcore_wasm.js" "$out.tmp/glue.mjs"
rm -rf "$out"
mv "$out.tmp" "$out"

raw=$(stat -c %s "$out/web/segcore_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/web/segcore_wasm_bg.wasm" | wc -c)
echo "built $out: segcore_wasm_bg.wasm $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzipped"
