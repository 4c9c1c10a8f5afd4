#!/usr/bin/env bash
# Starts the release build of Tariff on a random port with a fresh SQLite database and runs the
# Playwright tests in end2end/ against it in headless Chromium. Expects `scripts/build.sh` (the
# release build) to have run. Screenshots and traces land in end2end/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bin=target/release/tariff
[ -x "$bin" ] || { echo "error: $bin is missing; run 'scripts/build.sh' (or 'make build') first" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite://$work/tariff.db?mode=rwc"
export TARIFF_BIN="$PWD/$bin"
export BASE_URL="http://127.0.0.1:$port"

LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR="127.0.0.1:$port" \
  ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD='e2e-admin-password' RUST_LOG=info \
  "$bin" serve > "$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  mkdir -p "$root/end2end/artifacts" && cp "$work/server.log" "$root/end2end/artifacts/server.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "$BASE_URL/healthz" > /dev/null 2>&1 && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "error: the server exited during start-up:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS "$BASE_URL/healthz" > /dev/null || { echo "error: server did not become healthy" >&2; cat "$work/server.log" >&2; exit 1; }

echo "==> browser tests against $BASE_URL (Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing))"
cd end2end
rm -rf artifacts
status=0
npx playwright test "$@" || status=$?
# The summary ends the output (CI keeps only its tail): each failed test with the place of the
# failing assertion and its error's non-blank lines (up to 20), errors outside any test, then the
# counts.
node -e '
  const results = require("./artifacts/results.json");
  const clean = (text) => text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").filter((l) => l.trim() !== "")
    .slice(0, 20).map((l) => (l.length > 300 ? l.slice(0, 300) + "…" : l)).join("\n    ");
  const where = (e, fallback) => (e?.location ? `${e.location.file.replace(/^.*\/end2end\//, "")}:${e.location.line}` : fallback);
  const walk = (suite, titles) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        for (const r of t.results ?? []) {
          if (r.status === "passed" || r.status === "skipped") continue;
          console.log(`FAILED ${[...titles, spec.title].join(" › ")} at ${where(r.error, `${spec.file}:${spec.line}`)}\n    ${clean(r.error?.message ?? r.status)}`);
        }
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title]);
  };
  for (const suite of results.suites ?? []) walk(suite, []);
  for (const e of results.errors ?? []) console.log(`ERROR outside the tests at ${where(e, "?")}\n    ${clean(e.message ?? String(e))}`);
  const r = results.stats;
  console.log(`browser tests: ${r.expected} passed, ${r.unexpected} failed` + (r.skipped ? `, ${r.skipped} skipped` : ""));
' || true
exit $status
