#!/usr/bin/env bash
# Runs every test: unit and integration tests on SQLite (and PostgreSQL when TEST_POSTGRES_URL
# is set), a Schemathesis run over the API's OpenAPI document, then the browser test in
# Chromium against the built site.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/tools.sh test

# The PostgreSQL halves run against TEST_POSTGRES_URL, or a local server on the usual port
# that lets the postgres user in; with neither they are left out, and said to be.
LOCAL_PG=postgres://postgres@127.0.0.1:5432/postgres
if [ -z "${TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null \
    && psql "$LOCAL_PG" -tAc 'SELECT 1' >/dev/null 2>&1; then
  export TEST_POSTGRES_URL=$LOCAL_PG
fi
skip=()
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "==> PostgreSQL tests enabled ($TEST_POSTGRES_URL)"
else
  echo "==> No PostgreSQL answered (set TEST_POSTGRES_URL): the PostgreSQL halves are SKIPPED"
  skip=(--skip ::postgres)
fi

echo "==> Unit and integration tests"
cargo test --features ssr -- --test-threads 4 "${skip[@]}"
if [ ${#skip[@]} -gt 0 ]; then
  echo "==> Skipped, not passed: every PostgreSQL half (the tests named …::postgres)"
fi

echo "==> Fuzzing the API against its OpenAPI document (Schemathesis)"
scripts/fuzz-api.sh

echo "==> Building the site for the browser test"
cargo leptos build

echo "==> Browser test (Chromium)"
node --test end2end/tests/
