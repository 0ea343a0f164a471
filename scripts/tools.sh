#!/usr/bin/env bash
# Installs what building and testing Concierge needs, skipping whatever is already there, so
# a second run takes seconds. Usage: scripts/tools.sh [build|test]
#   build: the wasm target, cargo-leptos and a wasm-bindgen CLI matching Cargo.lock
#   test:  the above, plus Chromium and the browser-test driver (playwright-core)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-build}"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

LEPTOS_VERSION=0.3.10
if ! cargo leptos --version 2>/dev/null | grep -q "$LEPTOS_VERSION"; then
  say "Installing cargo-leptos $LEPTOS_VERSION (once per machine; about 10 minutes)"
  cargo install cargo-leptos --version "$LEPTOS_VERSION" --locked
fi

# wasm-bindgen's CLI must equal the library version in Cargo.lock, or cargo-leptos tries to
# download one (which these machines cannot).
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG_VERSION\$"; then
  say "Installing wasm-bindgen-cli $WBG_VERSION"
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
fi

if [ "$what" = "test" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "Installing Chromium for the browser tests"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -d end2end/node_modules/playwright-core ]; then
    say "Installing the browser-test driver"
    (cd end2end && npm ci --no-audit --no-fund --silent)
  fi
fi
