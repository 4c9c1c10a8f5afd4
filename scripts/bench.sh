#!/usr/bin/env bash
# `make bench`: starts a release server on a fresh database and measures, with wrk on loopback,
# a /healthz baseline, quota checks, usage consumption and pay-as-you-go charges (requests per
# second, p50, p99; charges also as a ratio to the baseline), and batch ingestion in events per second — on SQLite and, when PostgreSQL is reachable, on PostgreSQL.
# Figures only; no pass/fail (targets are in the README).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"

DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

if ! command -v wrk > /dev/null; then
  echo "==> installing wrk (Debian)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; else sudo apt-get install -y wrk; fi
fi

echo "==> building the release server"
cargo build --release --no-default-features --features ssr --bin tariff 2>&1 | tail -1
bin="$root/target/release/tariff"
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wrk_run NAME URL [LUA BODY_FILE TOKEN] -> prints "NAME rps p50 p99 non2xx"
wrk_run() {
  local name=$1 url=$2 lua=${3:-} body=${4:-} token=${5:-} out
  if [ -n "$lua" ]; then
    out=$(BODY_FILE="$body" TOKEN="$token" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$lua" "$url")
  else
    out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  fi
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
  bad=$(awk '/Non-2xx/ { print $5 }' <<< "$out")
  printf '%-10s %-26s %12s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$DB_NAME" "$name" "$rps" "$p50" "$p99" "${bad:-0}"
  LAST_RPS=$rps
}

bench_database() {
  DB_NAME=$1
  export DATABASE_URL=$2
  local port base admin_token user_token service_token user_id
  port=$(free_port)
  base="http://127.0.0.1:$port"
  LEPTOS_SITE_ROOT="$root/target/site" LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=warn \
    DATABASE_MAX_CONNECTIONS=16 "$bin" serve > "$work/server-$DB_NAME.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fsS "$base/healthz" > /dev/null 2>&1 && break; sleep 0.1; done

  RUST_LOG=warn "$bin" user create --email bench-admin@example.com --password bench-password --admin > /dev/null
  RUST_LOG=warn "$bin" user create --email bench-user@example.com --password bench-password > /dev/null
  admin_token=$(RUST_LOG=warn "$bin" token create --email bench-admin@example.com --name bench --scope admin | tail -1)
  service_token=$(RUST_LOG=warn "$bin" token create --email bench-admin@example.com --name ingest --scope service | tail -1)
  user_token=$(RUST_LOG=warn "$bin" token create --email bench-user@example.com --name bench | tail -1)
  user_id=$(curl -fsS -H "Authorization: Bearer $user_token" "$base/api/v1/billing/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
  curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$base/api/v1/admin/billing/plans" \
    -d '{"id": "bench", "name": "Bench", "price": 0, "quotas": {"requests": 1000000000000, "tokens_input": 1000000000000}}' > /dev/null
  curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$base/api/v1/admin/billing/subscriptions" \
    -d "{\"user_id\": \"$user_id\", \"plan_id\": \"bench\"}" > /dev/null

  curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$base/api/v1/admin/billing/features" \
    -d '{"name": "bench-tokens", "title": "Bench tokens", "unit_price": 0.15, "per_units": 1000, "access": "included"}' > /dev/null
  curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' "$base/api/v1/admin/billing/users/$user_id/balance" \
    -d '{"amount": 1000000.00, "reason": "benchmark"}' > /dev/null
  echo '{"feature": "bench-tokens", "units": 1}' > "$work/charge.json"
  echo '{"metric": "requests", "amount": 1}' > "$work/check.json"
  echo '{"metric": "requests", "amount": 1, "model_id": "gpt-4"}' > "$work/usage.json"
  python3 -c "
import json
events = [{'user_id': '$user_id', 'metric': 'tokens_input', 'amount': 7, 'model_id': 'gpt-4'} for _ in range(1000)]
print(json.dumps({'events': events}))" > "$work/batch.json"

  wrk_run "healthz (baseline)" "$base/healthz"
  local baseline=$LAST_RPS
  wrk_run "usage/check" "$base/api/v1/billing/usage/check" "$root/bench/post.lua" "$work/check.json" "$user_token"
  wrk_run "usage (consume)" "$base/api/v1/billing/usage" "$root/bench/post.lua" "$work/usage.json" "$user_token"
  wrk_run "charge" "$base/api/v1/billing/charge" "$root/bench/post.lua" "$work/charge.json" "$user_token"
  printf '%-10s %-26s %12s of the healthz baseline\n' "$DB_NAME" "charge / healthz" "$(python3 -c "print(f'{float(\"$LAST_RPS\") / float(\"$baseline\"):.2f}x')")"
  CONNECTIONS_SAVED=$CONNECTIONS
  CONNECTIONS=4
  wrk_run "usage/batch (1000 events)" "$base/api/v1/billing/usage/batch" "$root/bench/post.lua" "$work/batch.json" "$service_token"
  CONNECTIONS=$CONNECTIONS_SAVED
  printf '%-10s %-26s %12.0f events/s\n' "$DB_NAME" "batch ingestion" "$(python3 -c "print(float('$LAST_RPS') * 1000)")"

  kill "$server"; wait "$server" 2> /dev/null || true; server=""
}

echo "==> wrk -t1 -c$CONNECTIONS -d$DURATION on loopback; $(nproc) cores"
bench_database sqlite "sqlite://$work/bench.db?mode=rwc"
if command -v psql > /dev/null && psql "$PG_URL" -qtc 'select 1' > /dev/null 2>&1; then
  schema="bench_$$"
  psql "$PG_URL" -qc "create schema $schema" > /dev/null
  sep='?'; [[ "$PG_URL" == *\?* ]] && sep='&'
  bench_database postgres "${PG_URL}${sep}options=-c%20search_path%3D$schema"
  psql "$PG_URL" -qc "set client_min_messages = warning; drop schema $schema cascade" > /dev/null
else
  echo "PostgreSQL at $PG_URL is not reachable: skipped"
fi
