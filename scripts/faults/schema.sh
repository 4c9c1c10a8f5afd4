#!/usr/bin/env bash
# schemathesis (PyPI) over GET /api/v1/openapi.json, once with a user token and once with an
# admin token, every check on. Prints the server errors and contract mismatches it found; exits
# non-zero when there is any. SCHEMA_MAX_EXAMPLES (default 50) sets the budget per operation.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/scripts/faults/lib.sh"
trap cleanup_faults EXIT
ST="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}/venv/bin/schemathesis"
[ -x "$ST" ] || { echo "error: schemathesis is missing; run scripts/setup.sh --faults" >&2; exit 1; }

export DATABASE_URL="sqlite://$WORK/schema.db?mode=rwc"
RUST_LOG=error "$BIN" migrate > /dev/null
RUST_LOG=error "$BIN" init-plans > /dev/null
user_token=$(make_token schema-user@example.com user)
admin_token=$(make_token schema-admin@example.com admin --admin)
start_server "$WORK/server.log"

failed=0
for who in user admin; do
  token=$user_token
  [ "$who" = admin ] && token=$admin_token
  report="$WORK/schemathesis-$who.txt"
  status=0
  # --seed keeps a CI run reproducible; SCHEMA_SEED overrides it.
  # Run from the scratch directory: schemathesis keeps a cache in .schemathesis/ of the cwd.
  (cd "$WORK" && "$ST" --config-file "$root/scripts/faults/schemathesis.toml" run "$BASE/api/v1/openapi.json" -H "Authorization: Bearer $token" --checks all \
    --max-examples "${SCHEMA_MAX_EXAMPLES:-50}" --seed "${SCHEMA_SEED:-20261201}" -w 2 --no-color \
    --suppress-health-check all) > "$report" 2>&1 || status=$?
  cases=$(grep -Eo '[0-9]+ generated' "$report" | head -1 | awk '{ print $1 }' || true)
  server_errors=$(grep -c 'Server error' "$report" || true)
  mismatches=$(grep -Eo '[0-9]+ unique failures?' "$report" | awk '{ print $1 }' || true)
  printf 'schemathesis (%s token): %s cases, %s server errors, %s failures (contract mismatches)\n' \
    "$who" "${cases:-0}" "$server_errors" "${mismatches:-0}"
  if [ "$status" -ne 0 ]; then
    failed=1
    # The findings (or, without any, the whole report: an error of the tool itself).
    if grep -q '= FAILURES =' "$report"; then
      sed -n '/= FAILURES =/,/= SUMMARY =/p' "$report" | head -300
    else
      tail -60 "$report"
    fi
  fi
done
[ "$failed" -eq 0 ] && echo "schemathesis: 0 server errors, 0 contract mismatches"
exit "$failed"
