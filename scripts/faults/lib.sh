# Shared by the fault scripts: start a Tariff server on a fresh database and make tokens.
# Source it after setting `root` (the project directory). Exports BIN, WORK, BASE, SERVER_PID.

BIN="${TARIFF_BIN:-$root/target/release/tariff}"
[ -x "$BIN" ] || { echo "error: $BIN is missing; run 'scripts/build.sh' (or 'make build') first" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER_PID=""
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
export LEPTOS_SITE_ROOT="$root/target/site" LEPTOS_SITE_ADDR="127.0.0.1:$PORT"
export APP_BASE_URL="$BASE"

# start_server LOG: starts `serve` in the background and waits for /healthz.
start_server() {
  local log=$1
  RUST_LOG="${RUST_LOG:-warn}" "$BIN" serve >> "$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    curl -fsS "$BASE/healthz" > /dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2> /dev/null || { echo "error: the server exited during start-up" >&2; tail -20 "$log" >&2; return 1; }
    sleep 0.05
  done
  echo "error: the server did not become healthy" >&2
  return 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
    SERVER_PID=""
  fi
}

# make_token EMAIL SCOPE [--admin]: creates the user (once) and prints a new token.
make_token() {
  local email=$1 scope=$2 admin=${3:-}
  RUST_LOG=error "$BIN" user create --email "$email" --password "fault-password-$RANDOM" $admin > /dev/null 2>&1 || true
  RUST_LOG=error "$BIN" token create --email "$email" --name faults --scope "$scope" | tail -1
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2> /dev/null || echo 0; }

cleanup_faults() {
  stop_server
  rm -rf "$WORK"
}
