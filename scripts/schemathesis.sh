#!/usr/bin/env bash
# Schemathesis against the OpenAPI document of a running reelgate: every operation with
# generated valid and invalid input, bounded in cases and time, and every check (no 5xx,
# documented status codes, responses and headers match the schema, invalid input refused,
# authentication not ignored, deleted resources gone) but one: "schema-valid input must be
# accepted" cannot hold here — a generation (and its quote) is validated against the catalog
# of GET /v1/models, which the document gives as a free-form object, and valid requests are
# refused for business reasons no schema knows (not enough credits, an expired voucher).
#
#   scripts/schemathesis.sh                       # 40 cases per operation, at most 120 s
#   SCHEMATHESIS_MAX_EXAMPLES=500 SCHEMATHESIS_MAX_TIME=900 scripts/schemathesis.sh
#
# It starts `reelgate serve` on a fresh SQLite database in a temporary directory (with the
# built-in simulator), makes an operator with credits and an API key with the admin CLI, and
# runs as that operator so the operator routes are exercised too. Reports go to
# target/schemathesis/ (JUnit XML and the run's NDJSON events).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-120}"
SEED="${SCHEMATHESIS_SEED:-1}"

command -v schemathesis >/dev/null || pip install --quiet schemathesis

cargo build --quiet -p reelgate --bin reelgate
BIN="$PWD/target/debug/reelgate"
WORK="$(mktemp -d)"
REPORTS="$PWD/target/schemathesis"
mkdir -p "$REPORTS"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

export REELGATE_DATABASE_URL="sqlite://$WORK/reelgate.db"
export REELGATE_LISTEN="127.0.0.1:$PORT"
export REELGATE_SECRET="schemathesis-secret-0123456789abcdef0123"
export RUST_LOG="${RUST_LOG:-warn}"

"$BIN" admin create-user --email fuzz@example.com --password "correct horse battery" --admin >/dev/null
"$BIN" admin grant --email fuzz@example.com --credits 100000000 >/dev/null
KEY="$("$BIN" admin create-api-key --email fuzz@example.com | tail -1)"

"$BIN" serve 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done

status=0
schemathesis --config-file scripts/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$MAX_EXAMPLES" \
  --max-time "$MAX_TIME" \
  --seed "$SEED" \
  --workers 2 \
  --no-color \
  --report junit,ndjson \
  --report-dir "$REPORTS" || status=$?

if grep -q "panicked" "$WORK/serve.log"; then
  echo "the server panicked:" >&2
  grep -A5 "panicked" "$WORK/serve.log" >&2
  status=1
fi
exit $status
