#!/usr/bin/env bash
# Runs every test: unit and integration tests on SQLite (and PostgreSQL when TEST_POSTGRES_URL
# is set), then the browser test in Chromium against the built site.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/tools.sh test

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "==> PostgreSQL tests enabled ($TEST_POSTGRES_URL)"
else
  echo "==> TEST_POSTGRES_URL is not set: tests run on SQLite only"
fi

echo "==> Unit and integration tests"
cargo test --features ssr -- --test-threads 4

echo "==> Building the site for the browser test"
cargo leptos build

echo "==> Browser test (Chromium)"
node --test end2end/tests/
