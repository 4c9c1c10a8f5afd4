#!/usr/bin/env bash
# The whole test suite (what `make test` runs): unit and integration tests on SQLite and, when
# TEST_DATABASE_URL is set, on PostgreSQL; then a release build, the Playwright browser tests and
# the fault scripts (scripts/faults.sh, memory test shortened to 60 s).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "==> PostgreSQL tests enabled: $TEST_DATABASE_URL"
else
  echo "==> TEST_DATABASE_URL not set: PostgreSQL variants will be skipped"
fi

# The email tests need aiosmtpd (installed by scripts/setup.sh --test); here they must run.
export TARIFF_TOOLS_DIR="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}"
export TARIFF_REQUIRE_SMTP=1

log=$(mktemp)
echo "==> cargo test (every crate: unit and integration)"
cargo test --workspace --features tariff/ssr 2>&1 | tee "$log"
rust_passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{ s += $4 } END { print s + 0 }')
pg_ran=$(grep -Ec '::postgres \.\.\. ok' "$log" || true)
rm -f "$log"
if [ -n "${TEST_DATABASE_URL:-}" ] && [ "$pg_ran" -eq 0 ]; then
  echo "error: TEST_DATABASE_URL is set but no PostgreSQL test ran" >&2
  exit 1
fi
echo "==> $pg_ran PostgreSQL test variants ran"

echo "==> scripts/build.sh (cargo leptos build --release)"
scripts/build.sh

echo "==> browser tests"
e2e_log=$(mktemp)
scripts/e2e.sh 2>&1 | tee "$e2e_log"
e2e_passed=$(grep -Eo '^browser tests: [0-9]+ passed' "$e2e_log" | awk '{ print $3 }')
rm -f "$e2e_log"

# The fault scripts at a size that fits CI (make faults runs the memory test for 10 minutes).
echo "==> fault scripts"
FAULTS_MEMORY_SECONDS="${FAULTS_MEMORY_SECONDS:-60}" scripts/faults.sh

echo "rust tests: ${rust_passed} passed, 0 failed (PostgreSQL variants: ${pg_ran})"
echo "all: $((rust_passed + ${e2e_passed:-0})) passed, 0 failed"
