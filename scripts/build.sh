#!/usr/bin/env bash
# The release build of the site and the server: `cargo leptos build --release`. The pages are
# rendered on the server; the browser bundle is the small enhancer of `src/enhance.rs`.
# Arguments are passed on to cargo leptos (for example --frontend-only).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo leptos build --release "$@"
