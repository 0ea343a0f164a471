#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document with Schemathesis: a real server on a fresh
# SQLite database filled with sample data, every operation, and a failure for any 5xx or any
# answer that contradicts the document (status, content type, headers, body schema, a missing
# key, an undeclared method).
#
# Whether every request the schemas forbid is refused (`negative_data_rejection`) gates too.
# Whether every request they allow is accepted (`positive_data_acceptance`) is left out by
# default: what is left of it are rules no schema states (one field needs another, `ends_at`
# after `starts_at`, an opaque cursor, text with NUL, which PostgreSQL cannot keep). See it with
#   scripts/fuzz-api.sh --checks all
#
# Usage: scripts/fuzz-api.sh [extra schemathesis options]
#   FUZZ_EXAMPLES   examples per operation (default 25)
#   FUZZ_TAGS       comma-separated OpenAPI tags to fuzz (default: every operation)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

SCHEMATHESIS_VERSION=4.32.5
VENV=target/schemathesis
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "Installing Schemathesis $SCHEMATHESIS_VERSION (once)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

BIN=target/debug/concierge
[ -x "$BIN" ] || cargo build --features ssr --bin concierge

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite://$work/fuzz.db?mode=rwc"
export CONCIERGE_ADDR="127.0.0.1:$port"
# The fuzzer sends thousands of requests a minute; the limits are tested elsewhere.
export RATE_LIMIT_PER_MINUTE=0 RATE_LIMIT_BATCH_PER_MINUTE=0
export CONCIERGE_WORKER=false RUST_LOG=warn

"$BIN" create-admin --org fuzz --email fuzz@example.com --password 'fuzzing fuzzing' >/dev/null
"$BIN" seed-demo --org fuzz >/dev/null
key=$("$BIN" api-key create --org fuzz --name fuzz | tail -n1)

RUST_BACKTRACE=0 "$BIN" serve >"${FUZZ_SERVER_LOG:-$work/server.log}" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.2
done

filter=()
[ -n "${FUZZ_TAGS:-}" ] && filter=(--include-tag-regex "^(${FUZZ_TAGS//,/|})\$")
checks=(--exclude-checks positive_data_acceptance)
for arg in "$@"; do case "$arg" in --checks|--checks=*|--exclude-checks|--exclude-checks=*) checks=() ;; esac; done
say "Fuzzing the API with Schemathesis (${FUZZ_TAGS:-every operation})"
status=0
CONCIERGE_FUZZ_KEY="$key" SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH=scripts \
  "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml \
  run "http://127.0.0.1:$port/api/v1/openapi.json" \
  "${filter[@]}" "${checks[@]}" \
  --max-examples "${FUZZ_EXAMPLES:-25}" \
  --seed 1 \
  --no-color \
  "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- the server's log"
  tail -n 50 "${FUZZ_SERVER_LOG:-$work/server.log}"
fi
exit "$status"
