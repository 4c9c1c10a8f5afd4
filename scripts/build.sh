#!/usr/bin/env bash
# The release build of the site and the server: `cargo leptos build --release --split` (each page
# its own lazily loaded wasm module, see `src/ui/app.rs`), then the repair of the split manifest
# that cargo-leptos 0.3.8 damages when it hashes file names (scripts/split_manifest.py), and the
# packing of each page's modules into one file (scripts/page_packs.py).
# Arguments are passed on to cargo leptos (for example --frontend-only).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo leptos build --release --split "$@"
python3 scripts/split_manifest.py target/site/pkg
python3 scripts/page_packs.py target/site/pkg
