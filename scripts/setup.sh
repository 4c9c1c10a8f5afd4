#!/usr/bin/env bash
# Installs what building (and, with --test, testing) Tariff needs, and only what is missing:
# the wasm target, cargo-leptos 0.3.8, the wasm-bindgen CLI matching Cargo.lock, wasm-opt
# (binaryen 132 from npm), and for tests Chromium (Debian), the Playwright package and
# from PyPI schemathesis (the fault scripts), aiosmtpd (the SMTP server of the email tests) and
# standardwebhooks (the webhook fault script's signature verifier).
# A warm machine pays a few version checks; a fresh one needs no manual step. See TOOLCHAIN.md.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

TOOLS_DIR="${TARIFF_TOOLS_DIR:-$HOME/.local/share/tariff-tools}"
CARGO_LEPTOS_VERSION=0.3.8
BINARYEN_VERSION=132
SCHEMATHESIS_VERSION=4.32.5
AIOSMTPD_VERSION=1.4.6
STANDARDWEBHOOKS_VERSION=1.3.0
export PATH="$TOOLS_DIR/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes ~12 minutes on 2 cores, once)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi

wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wasm_bindgen_version" ]; then
  echo "error: wasm-bindgen not found in Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wasm_bindgen_version\$\| $wasm_bindgen_version "; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version (must equal Cargo.lock)"
  # Without --locked: its own lock file names a yanked crate.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
  say "installing wasm-opt (binaryen $BINARYEN_VERSION from npm) into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-save "binaryen@$BINARYEN_VERSION"
fi

if [ "$want_test" -eq 1 ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium from Debian for the browser tests"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "installing the Playwright test runner (no browser download; Debian's Chromium is used)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix end2end
  fi
  # The fault scripts (scripts/faults/): schemathesis from PyPI in its own virtualenv.
  if ! "$TOOLS_DIR/venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $TOOLS_DIR/venv"
    if ! python3 -m venv "$TOOLS_DIR/venv" 2>/dev/null; then
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
        || { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; }
      python3 -m venv "$TOOLS_DIR/venv"
    fi
    "$TOOLS_DIR/venv/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # The email tests start a real SMTP server (aiosmtpd) from the same virtualenv.
  if ! "$TOOLS_DIR/venv/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    say "installing aiosmtpd $AIOSMTPD_VERSION (PyPI) into $TOOLS_DIR/venv"
    "$TOOLS_DIR/venv/bin/pip" install --quiet "aiosmtpd==$AIOSMTPD_VERSION"
  fi
  # The webhook fault script verifies signatures with the official Standard Webhooks library.
  if ! "$TOOLS_DIR/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('standardwebhooks') != '$STANDARDWEBHOOKS_VERSION')" 2>/dev/null; then
    say "installing standardwebhooks $STANDARDWEBHOOKS_VERSION (PyPI) into $TOOLS_DIR/venv"
    "$TOOLS_DIR/venv/bin/pip" install --quiet "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
  fi
fi
say "toolchain ready"
