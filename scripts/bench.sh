#!/usr/bin/env bash
# Every performance figure of docs/PERFORMANCE.md, from one command:
#
#   scripts/bench.sh                      # all of it, about 15 minutes on 2 cores
#   scripts/bench.sh --databases sqlite   # flags go to `reelgate-bench` (see --help)
#
# The criterion micro-benchmarks (parsing and pricing a request; the ledger hold) run first,
# then `reelgate-bench` (crates/bench), which starts `reelgate sim` and `reelgate serve` on fresh databases
# (SQLite in the temp directory; a new schema on the PostgreSQL server named by
# REELGATE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test) and prints
# the table. The table and the charts are written to target/bench/ (or --out).
set -euo pipefail
# The published figures are from a real server (the tests' temporary one runs without fsync).
export REELGATE_TEST_POSTGRES_URL=${REELGATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
cd "$(dirname "$0")/.."

cargo bench -p reelgate-domain --bench parse_and_price -- --warm-up-time 1 --measurement-time 3
cargo bench -p reelgate-store --bench ledger_hold -- --warm-up-time 1 --measurement-time 3
cargo build --release -p reelgate-bench
./target/release/reelgate-bench "$@"
