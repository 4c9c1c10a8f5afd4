#!/usr/bin/env bash
# `make faults`: Tariff under faults and hostile input, against the release build. Each script
# prints its figures and fails on a wrong one:
#   ingest_kill.py  kill -9 of the server during batch ingestion (FAULTS_KILLS, default 20)
#   consume_kill.py kill -9 of the server during a consume load (FAULTS_CONSUME_KILLS, default 5)
#   webhook_kill.py kill -9 while events are written and delivered (FAULTS_WEBHOOK_KILLS, default
#                   5); a receiver verifies each signature with the Standard Webhooks library
#   pg_restart.py   PostgreSQL restarted under a consume load (needs root and pg_ctlcluster)
#   schema.sh       schemathesis over /api/v1/openapi.json with a user and an admin token
#   memory.py       RSS under hostile input (FAULTS_MEMORY_SECONDS, default 600)
# Property tests of money parsing, notification parsing and period arithmetic run with
# `cargo test` (proptest, a fixed number of cases).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}/node_modules/.bin:$HOME/.cargo/bin:$PATH"

bin="${TARIFF_BIN:-target/release/tariff}"
[ -x "$bin" ] || { echo "error: $bin is missing; run 'scripts/build.sh' (or 'make build') first" >&2; exit 1; }
export TARIFF_BIN="$PWD/$bin"

status=0
venv_python="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}/venv/bin/python"
run() {
  local name=$1
  case "$name" in python3|*/python) name=$2 ;; esac
  echo "==> $name"
  "$@" || { status=1; echo "FAILED: $name" >&2; }
}
run python3 scripts/faults/ingest_kill.py
run python3 scripts/faults/consume_kill.py
run "$venv_python" scripts/faults/webhook_kill.py
run python3 scripts/faults/pg_restart.py
run scripts/faults/schema.sh
run python3 scripts/faults/memory.py
exit "$status"
