#!/usr/bin/env bash
# `make bench`: builds the release site and server, then measures on loopback with wrk
# (-t1 -c$BENCH_CONNECTIONS, $BENCH_DURATION per line), on SQLite and, when PostgreSQL is
# reachable, on PostgreSQL. Every throughput is printed with its ratio to the /healthz baseline
# measured in the same run (absolute figures on shared machines move by 3× from day to day):
#   healthz (baseline), usage/check, usage (consume), charge, reservations (hold + commit),
#   usage/batch (events/s), consume again with the rate limiter in memory and on Redis;
#   admin statistics over 100,000 subscriptions (p50), the portal /billing page rendered on the
#   server (p50), the server's peak resident memory, the browser bundle after brotli, and a first
#   visit's time in Chromium until the page has loaded and until the bundle has enhanced it.
# Figures only; no pass/fail (the targets are in the README).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}/node_modules/.bin:$HOME/.cargo/bin:$PATH"

DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
SUBSCRIPTIONS="${BENCH_SUBSCRIPTIONS:-100000}"
PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
REDIS_URL_BENCH="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

for tool in wrk brotli; do
  if ! command -v "$tool" > /dev/null; then
    echo "==> installing $tool (Debian)"
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y "$tool" || { apt-get update && apt-get install -y "$tool"; }; else sudo apt-get install -y "$tool"; fi
  fi
done

echo "==> building the release site and server"
scripts/setup.sh --test > /dev/null
scripts/build.sh 2>&1 | tail -2
bin="$root/target/release/tariff"
work=$(mktemp -d)
server=""
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "bench failed (exit $status); the server's log ends:" >&2
    tail -n 40 "$work"/server-*.log >&2 || true
  fi
  [ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null || true
  if [ -n "${BENCH_KEEP:-}" ]; then echo "server logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ratio() { python3 -c "print(f'{float(\"$1\") / float(\"$2\"):.2f}x')"; }

# wrk_run NAME URL LUA [BODY_FILE TOKEN CONNECTIONS] -> prints "DB NAME rps p50 p99 non2xx"
wrk_run() {
  local name=$1 url=$2 lua=$3 body=${4:-} token=${5:-} connections=${6:-$CONNECTIONS} out
  out=$(BODY_FILE="$body" TOKEN="$token" COOKIE="${COOKIE:-}" wrk -t1 -c"$connections" -d"$DURATION" --latency -s "$lua" "$url")
  LAST_RPS=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
  LAST_P50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
  local p99 bad
  p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
  bad=$(awk '/Non-2xx/ { print $5 }' <<< "$out")
  local vs=""
  [ -n "${BASELINE:-}" ] && vs="$(ratio "$LAST_RPS" "$BASELINE") of healthz"
  printf '%-9s %-30s %10s req/s  %-15s p50 %-9s p99 %-9s non-2xx %s\n' "$DB_NAME" "$name" "$LAST_RPS" "$vs" "$LAST_P50" "$p99" "${bad:-0}"
}

# start_server [VAR=VALUE ...]: the release server on $DATABASE_URL and a free port.
start_server() {
  PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  env LEPTOS_SITE_ROOT="$root/target/site" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" APP_BASE_URL="$BASE" RUST_LOG="${BENCH_LOG:-warn}" \
    DATABASE_MAX_CONNECTIONS=16 RATE_LIMIT_ENABLED=off "$@" "$bin" serve >> "$work/server-$DB_NAME.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/healthz" > /dev/null 2>&1 && return; sleep 0.1; done
  echo "error: the server did not start" >&2
  cat "$work/server-$DB_NAME.log" >&2
  exit 1
}

stop_server() {
  kill "$server"
  wait "$server" 2> /dev/null || true
  server=""
}

api() { curl -fsS -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "${@:2}"; }

bench_database() {
  DB_NAME=$1
  export DATABASE_URL=$2
  BASELINE=""
  start_server
  local admin_token user_token service_token user_id
  RUST_LOG=warn "$bin" user create --email bench-admin@example.com --password bench-password --admin > /dev/null
  RUST_LOG=warn "$bin" user create --email bench-user@example.com --password bench-password > /dev/null
  admin_token=$(RUST_LOG=warn "$bin" token create --email bench-admin@example.com --name bench --scope admin | tail -1)
  service_token=$(RUST_LOG=warn "$bin" token create --email bench-admin@example.com --name ingest --scope service | tail -1)
  user_token=$(RUST_LOG=warn "$bin" token create --email bench-user@example.com --name bench | tail -1)
  user_id=$(api "$user_token" "$BASE/api/v1/billing/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
  api "$admin_token" -X POST "$BASE/api/v1/admin/billing/plans" \
    -d '{"id": "bench", "name": "Bench", "price": 0, "quotas": {"requests": 1000000000000, "tokens_input": 1000000000000, "tokens_output": 1000000000000}}' > /dev/null
  api "$admin_token" -X POST "$BASE/api/v1/admin/billing/subscriptions" -d "{\"user_id\": \"$user_id\", \"plan_id\": \"bench\"}" > /dev/null
  api "$admin_token" -X POST "$BASE/api/v1/admin/billing/features" \
    -d '{"name": "bench-tokens", "title": "Bench tokens", "unit_price": 0.15, "per_units": 1000, "access": "included"}' > /dev/null
  api "$admin_token" -X POST "$BASE/api/v1/admin/billing/users/$user_id/balance" -d '{"amount": 1000000.00, "reason": "benchmark"}' > /dev/null
  echo '{"feature": "bench-tokens", "units": 1}' > "$work/charge.json"
  echo '{"metric": "requests", "amount": 1}' > "$work/check.json"
  echo '{"metric": "requests", "amount": 1, "model_id": "gpt-4"}' > "$work/usage.json"
  python3 -c "
import json
events = [{'user_id': '$user_id', 'metric': 'tokens_input', 'amount': 7, 'model_id': 'gpt-4'} for _ in range(1000)]
print(json.dumps({'events': events}))" > "$work/batch.json"

  wrk_run "healthz (baseline)" "$BASE/healthz" "$root/bench/get.lua"
  BASELINE=$LAST_RPS
  wrk_run "usage/check" "$BASE/api/v1/billing/usage/check" "$root/bench/post.lua" "$work/check.json" "$user_token"
  wrk_run "usage (consume)" "$BASE/api/v1/billing/usage" "$root/bench/post.lua" "$work/usage.json" "$user_token"
  wrk_run "charge" "$BASE/api/v1/billing/charge" "$root/bench/post.lua" "$work/charge.json" "$user_token"
  wrk_run "reservations (hold+commit)" "$BASE/api/v1/billing/usage/reservations" "$root/bench/reserve_commit.lua" "" "$user_token"
  wrk_run "usage/batch (1000 events)" "$BASE/api/v1/billing/usage/batch" "$root/bench/post.lua" "$work/batch.json" "$service_token" 4
  printf '%-9s %-30s %10.0f events/s\n' "$DB_NAME" "batch ingestion" "$(python3 -c "print(float('$LAST_RPS') * 1000)")"
  printf '%-9s %-30s %10s (VmHWM after the loads above)\n' "$DB_NAME" "peak resident memory" \
    "$(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server/status")"

  # The portal's /billing page, rendered on the server for a signed-in user.
  curl -fsS -c "$work/cookies" -o /dev/null -H "Origin: $BASE" \
    -d 'email=bench-user%40example.com&password=bench-password' "$BASE/api/ui/login"
  COOKIE=$(awk '$6 == "tariff_session" { print $6 "=" $7 }' "$work/cookies")
  wrk_run "portal /billing (SSR)" "$BASE/billing" "$root/bench/get.lua" "" "" 4
  COOKIE=""

  # Admin statistics over $SUBSCRIPTIONS subscriptions.
  python3 "$root/bench/seed_subscriptions.py" "$DATABASE_URL" "$SUBSCRIPTIONS" > /dev/null
  wrk_run "admin stats ($SUBSCRIPTIONS subs)" "$BASE/api/v1/admin/billing/stats" "$root/bench/get.lua" "" "$admin_token" 4
  stop_server

  # Consume again behind the rate limiter (limits far above the load), in memory and on Redis.
  start_server RATE_LIMIT_ENABLED=on RATE_LIMIT_REQUESTS=1000000000 RATE_LIMIT_SERVICE_REQUESTS=1000000000
  wrk_run "consume, limiter in memory" "$BASE/api/v1/billing/usage" "$root/bench/post.lua" "$work/usage.json" "$user_token"
  stop_server
  if redis-cli -u "$REDIS_URL_BENCH" ping > /dev/null 2>&1; then
    start_server RATE_LIMIT_ENABLED=on RATE_LIMIT_REQUESTS=1000000000 RATE_LIMIT_SERVICE_REQUESTS=1000000000 REDIS_URL="$REDIS_URL_BENCH"
    wrk_run "consume, limiter on Redis" "$BASE/api/v1/billing/usage" "$root/bench/post.lua" "$work/usage.json" "$user_token"
    printf '%-9s %-30s %10s\n' "$DB_NAME" "peak resident memory" \
      "$(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server/status") (consume with the Redis limiter)"
    stop_server
  else
    echo "$DB_NAME   Redis at $REDIS_URL_BENCH is not reachable: the Redis limiter line is skipped"
  fi
}

bundle_size() {
  echo "==> browser bundle: what every page downloads besides its HTML, brotli at quality 11 as served"
  python3 "$root/bench/bundle_size.py" "$root/target/site/pkg"
}

first_visit() {
  echo "==> first visit in headless Chromium (bench/first_visit.cjs)"
  DB_NAME=browser
  export DATABASE_URL="sqlite://$work/browser.db?mode=rwc"
  start_server
  node "$root/bench/first_visit.cjs" "$BASE" "${BENCH_BROWSER_RUNS:-5}"
  stop_server
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
bundle_size
first_visit
